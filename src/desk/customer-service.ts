import { z } from 'zod';
import type { Principal } from '../access/agent-access.js';
import { customersNamedBy } from '../access/agent-customers.js';
import { assertInScope, customerOfBody, customerReferenceNotFound, inScope } from '../access/customer-scope.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { CustomerRecord, DeskRecordSortKey, DeskUserRecord, NumberedPage, Stores, Transactor } from '../store/ports.js';
import { decodeCursor, encodeCursor } from '../tracking/cursor.js';
import { entitiesNaming, refuseWhileNamed } from '../tracking/record-references.js';
import { deskCaller, scopedCustomerIds, type DeskCaller } from './desk-caller.js';

const name = () => z.string().trim().min(1).max(200);
const recordId = () => z.string().trim().min(1).max(100);
const thirdPartyId = () => z.string().trim().min(1).max(200).nullable();

export const customerInputSchema = z.strictObject({
  name: name(),
  thirdPartyId: thirdPartyId()
    .default(null)
    .describe('The customer’s id in another system (a CRM, the PSA); unique when set. Configuration promoted from another instance names the customer by it.'),
});
export const customerPatchSchema = z.strictObject({ name: name().optional(), thirdPartyId: thirdPartyId().optional() });
export const userInputSchema = z.strictObject({
  customerId: recordId(),
  name: name(),
  email: z.string().trim().toLowerCase().email().max(320).nullable().default(null),
  thirdPartyId: thirdPartyId().default(null).describe('The user’s id in the identity system; unique when set.'),
});
export const userPatchSchema = z.strictObject({
  customerId: recordId().optional(),
  name: name().optional(),
  email: z.string().trim().toLowerCase().email().max(320).nullable().optional(),
  thirdPartyId: thirdPartyId().optional(),
});

export interface CustomerView {
  id: string;
  name: string;
  thirdPartyId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DeskUserView {
  id: string;
  customerId: string;
  name: string;
  email: string | null;
  thirdPartyId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** One numbered page and how many records match in all (within the caller's client restrictions). */
export interface CountedPage<T> {
  items: T[];
  total: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const customerView = (c: CustomerRecord): CustomerView => ({ id: c.id, name: c.name, thirdPartyId: c.thirdPartyId, createdAt: iso(c.createdAt), updatedAt: iso(c.updatedAt) });
const userView = (u: DeskUserRecord): DeskUserView => ({
  id: u.id,
  customerId: u.customerId,
  name: u.name,
  email: u.email,
  thirdPartyId: u.thirdPartyId,
  createdAt: iso(u.createdAt),
  updatedAt: iso(u.updatedAt),
});

export function pageOf<R extends { id: string }, V>(rows: R[], limit: number, view: (row: R) => V): Page<V> {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(view), nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}

const customerNotFound = (id: string) => new DomainError('CUSTOMER_NOT_FOUND', `There is no customer with id ${id}.`, { id });
const userNotFound = (id: string) => new DomainError('USER_NOT_FOUND', `There is no user with id ${id}.`, { id });

/** A customer the caller may see, or "not found" (never "forbidden": another customer's existence does not leak). */
async function visibleCustomer(stores: Stores, caller: DeskCaller, id: string): Promise<CustomerRecord> {
  const customer = await stores.desk.findCustomer(id);
  const notFound = () => {
    const error = customerNotFound(id);
    error.details.errors = [{ path: 'id', code: 'not-found', message: 'No such customer.' }];
    return error;
  };
  if (!customer) throw notFound();
  assertInScope(caller.scope, customer.id, notFound);
  return customer;
}

/** Whether a body may name this customer: it exists here and is one of the caller's customers. */
export async function mayNameCustomer(stores: Stores, caller: DeskCaller, id: string): Promise<boolean> {
  const customer = await stores.desk.findCustomer(id);
  return customer !== undefined && inScope(caller.scope, customer.id);
}

/** Refuses a body naming a customer it may not name, at `customerId`, as configuration writes do. */
async function refuseUnnamableCustomer(stores: Stores, caller: DeskCaller, id: string): Promise<void> {
  if (!(await mayNameCustomer(stores, caller, id))) throw customerReferenceNotFound('customerId', id);
}

async function visibleUser(stores: Stores, caller: DeskCaller, id: string): Promise<DeskUserRecord> {
  const user = await stores.desk.findUser(id);
  if (!user) throw userNotFound(id);
  assertInScope(caller.scope, user.customerId, () => userNotFound(id));
  return user;
}

async function refuseTakenThirdPartyId(stores: Stores, kind: 'customer' | 'user', thirdPartyId: string | null, selfId: string | null): Promise<void> {
  if (thirdPartyId === null) return;
  const holder = kind === 'user' ? await stores.desk.findUserByThirdPartyId(thirdPartyId) : await stores.desk.findCustomerByThirdPartyId(thirdPartyId);
  if (holder && holder.id !== selfId) {
    throw new DomainError('THIRD_PARTY_ID_TAKEN', `Another ${kind} has third-party id ${thirdPartyId}.`, {
      errors: [{ path: 'thirdPartyId', code: 'taken', message: `Another ${kind} has this third-party id.` }],
    });
  }
}


/** Refuses to delete a customer while an agent names it: agents are not configuration, but they must not name a customer that is gone. */
async function refuseWhileAgentsName(stores: Stores, customer: CustomerRecord): Promise<void> {
  const agents = await stores.agents.list({ limit: Number.MAX_SAFE_INTEGER });
  const referencedBy = agents.flatMap((agent) => customersNamedBy(agent).flatMap((field) => (field.id === customer.id ? [{ type: 'agent', id: agent.id, name: agent.name, path: field.path }] : [])));
  if (referencedBy.length === 0) return;
  const names = [...new Set(referencedBy.map((r) => `agent "${r.name}"`))].join(', ');
  throw new DomainError('CUSTOMER_IN_USE', `Agents name this customer: ${names}; change them first.`, { referencedBy });
}

/** Refuses to move a user to another customer while a record of its customer (an asset's users or owners) names the user. */
async function refuseWhileCustomerRecordsName(stores: Stores, catalog: Catalog, user: DeskUserRecord): Promise<void> {
  const naming = await entitiesNaming(stores, { kind: 'user', id: user.id, thirdPartyId: user.thirdPartyId }, { limit: 1_000 });
  const ofCustomer = naming.filter((r) => catalog.find(r.type)?.customerRecord !== undefined);
  if (ofCustomer.length === 0) return;
  const bodies = new Map((await stores.entities.findMany([...new Set(ofCustomer.map((r) => r.id))])).map((e) => [e.id, e]));
  const referencedBy = ofCustomer.filter((r) => {
    const entity = bodies.get(r.id);
    return entity !== undefined && customerOfBody(catalog.get(entity.type), entity.body) === user.customerId;
  });
  if (referencedBy.length === 0) return;
  const names = [...new Set(referencedBy.map((r) => `${r.type} "${r.name}"`))].join(', ');
  throw new DomainError('USER_IN_USE', `Records of the user's customer name this user: ${names}; change them before moving the user to another customer.`, {
    referencedBy,
    errors: [{ path: 'customerId', code: 'in-use', message: 'Records of the user’s current customer name this user.' }],
  });
}

function refuseIfRestricted(caller: DeskCaller): void {
  if (caller.scope.kind === 'all') return;
  throw new DomainError('FORBIDDEN', 'An agent restricted to some customers cannot add customers.', { reason: 'client-restrictions' });
}

export interface CustomerService {
  listCustomers(principal: Principal, query: { limit: number; cursor?: string; q?: string }): Promise<Page<CustomerView>>;
  getCustomer(principal: Principal, id: string): Promise<CustomerView>;
  createCustomer(principal: Principal, input: z.infer<typeof customerInputSchema>): Promise<CustomerView>;
  updateCustomer(principal: Principal, id: string, patch: z.infer<typeof customerPatchSchema>): Promise<CustomerView>;
  removeCustomer(principal: Principal, id: string): Promise<void>;
  listUsers(principal: Principal, query: { limit: number; cursor?: string; q?: string; customerId?: string }): Promise<Page<DeskUserView>>;
  /** A numbered page of the customers the caller sees, and how many it sees in all. */
  pageCustomers(principal: Principal, query: { q?: string }, page: NumberedPage<DeskRecordSortKey>): Promise<CountedPage<CustomerView>>;
  pageUsers(principal: Principal, query: { q?: string; customerId?: string }, page: NumberedPage<DeskRecordSortKey>): Promise<CountedPage<DeskUserView>>;
  getUser(principal: Principal, id: string): Promise<DeskUserView>;
  createUser(principal: Principal, input: z.infer<typeof userInputSchema>): Promise<DeskUserView>;
  updateUser(principal: Principal, id: string, patch: z.infer<typeof userPatchSchema>): Promise<DeskUserView>;
  removeUser(principal: Principal, id: string): Promise<void>;
}

/** Customers and their users: desk records, local to this instance, seen only within the caller's client restrictions. */
export function createCustomerService(deps: { db: Transactor; clock: Clock; catalog: Catalog }): CustomerService {
  const { db, clock, catalog } = deps;
  return {
    async listCustomers(principal, { limit, cursor, q }) {
      const rows = await db.read(async (stores) => {
        const caller = await deskCaller(stores, principal);
        const customerIds = scopedCustomerIds(caller);
        return stores.desk.listCustomers({
          limit: limit + 1,
          ...(customerIds ? { customerIds } : {}),
          ...(q ? { nameContains: q } : {}),
          ...(cursor ? { afterId: decodeCursor(cursor) } : {}),
        });
      });
      return pageOf(rows, limit, customerView);
    },
    async pageCustomers(principal, { q }, page) {
      const { rows, total } = await db.read(async (stores) => {
        const customerIds = scopedCustomerIds(await deskCaller(stores, principal));
        return stores.desk.pageCustomers({ ...(customerIds ? { customerIds } : {}), ...(q ? { nameContains: q } : {}) }, page);
      });
      return { items: rows.map(customerView), total };
    },
    async pageUsers(principal, { q, customerId }, page) {
      const { rows, total } = await db.read(async (stores) => {
        const customerIds = scopedCustomerIds(await deskCaller(stores, principal));
        return stores.desk.pageUsers({ ...(customerIds ? { customerIds } : {}), ...(customerId ? { customerId } : {}), ...(q ? { nameContains: q } : {}) }, page);
      });
      return { items: rows.map(userView), total };
    },
    async getCustomer(principal, id) {
      return customerView(await db.read(async (stores) => visibleCustomer(stores, await deskCaller(stores, principal), id)));
    },
    async createCustomer(principal, input) {
      return db.write(async (stores) => {
        refuseIfRestricted(await deskCaller(stores, principal));
        await refuseTakenThirdPartyId(stores, 'customer', input.thirdPartyId, null);
        const now = clock.now();
        const customer: CustomerRecord = { id: newId(now), name: input.name, thirdPartyId: input.thirdPartyId, createdAt: now, updatedAt: now };
        await stores.desk.insertCustomer(customer);
        return customerView(customer);
      });
    },
    async updateCustomer(principal, id, patch) {
      return db.write(async (stores) => {
        const customer = await visibleCustomer(stores, await deskCaller(stores, principal), id);
        if (patch.thirdPartyId !== undefined && patch.thirdPartyId !== customer.thirdPartyId) {
          await refuseTakenThirdPartyId(stores, 'customer', patch.thirdPartyId, customer.id);
          await refuseWhileNamed(stores, { kind: 'customer', ...customer }, 'third-party-id');
        }
        const next: CustomerRecord = {
          ...customer,
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.thirdPartyId !== undefined ? { thirdPartyId: patch.thirdPartyId } : {}),
          updatedAt: clock.now(),
        };
        await stores.desk.updateCustomer(next);
        return customerView(next);
      });
    },
    async removeCustomer(principal, id) {
      await db.write(async (stores) => {
        const customer = await visibleCustomer(stores, await deskCaller(stores, principal), id);
        const holds = await stores.desk.customerHolds(id);
        if (holds.users > 0 || holds.tickets > 0) {
          throw new DomainError('CUSTOMER_IN_USE', `The customer still has ${holds.users} user(s) and ${holds.tickets} ticket(s).`, holds);
        }
        await refuseWhileNamed(stores, { kind: 'customer', ...customer });
        await refuseWhileAgentsName(stores, customer);
        await stores.desk.removeCustomer(id);
      });
    },
    async listUsers(principal, { limit, cursor, q, customerId }) {
      const rows = await db.read(async (stores) => {
        const caller = await deskCaller(stores, principal);
        const customerIds = scopedCustomerIds(caller);
        return stores.desk.listUsers({
          limit: limit + 1,
          ...(customerIds ? { customerIds } : {}),
          ...(customerId ? { customerId } : {}),
          ...(q ? { nameContains: q } : {}),
          ...(cursor ? { afterId: decodeCursor(cursor) } : {}),
        });
      });
      return pageOf(rows, limit, userView);
    },
    async getUser(principal, id) {
      return userView(await db.read(async (stores) => visibleUser(stores, await deskCaller(stores, principal), id)));
    },
    async createUser(principal, input) {
      return db.write(async (stores) => {
        await refuseUnnamableCustomer(stores, await deskCaller(stores, principal), input.customerId);
        const now = clock.now();
        await refuseTakenThirdPartyId(stores, 'user', input.thirdPartyId, null);
        const user: DeskUserRecord = {
          id: newId(now),
          customerId: input.customerId,
          name: input.name,
          email: input.email,
          thirdPartyId: input.thirdPartyId,
          createdAt: now,
          updatedAt: now,
        };
        await stores.desk.insertUser(user);
        return userView(user);
      });
    },
    async updateUser(principal, id, patch) {
      return db.write(async (stores) => {
        const caller = await deskCaller(stores, principal);
        const user = await visibleUser(stores, caller, id);
        if (patch.customerId !== undefined && patch.customerId !== user.customerId) {
          await refuseUnnamableCustomer(stores, caller, patch.customerId);
          await refuseWhileCustomerRecordsName(stores, catalog, user);
        }
        if (patch.thirdPartyId !== undefined && patch.thirdPartyId !== user.thirdPartyId) {
          await refuseTakenThirdPartyId(stores, 'user', patch.thirdPartyId, user.id);
          await refuseWhileNamed(stores, { kind: 'user', ...user }, 'third-party-id');
        }
        const next: DeskUserRecord = {
          ...user,
          ...(patch.customerId !== undefined ? { customerId: patch.customerId } : {}),
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.email !== undefined ? { email: patch.email } : {}),
          ...(patch.thirdPartyId !== undefined ? { thirdPartyId: patch.thirdPartyId } : {}),
          updatedAt: clock.now(),
        };
        await stores.desk.updateUser(next);
        return userView(next);
      });
    },
    async removeUser(principal, id) {
      await db.write(async (stores) => {
        const user = await visibleUser(stores, await deskCaller(stores, principal), id);
        const holds = await stores.desk.userHolds(id);
        if (holds.tickets > 0) throw new DomainError('USER_IN_USE', `The user still has ${holds.tickets} ticket(s).`, holds);
        await refuseWhileNamed(stores, { kind: 'user', ...user });
        await stores.desk.removeUser(id);
      });
    },
  };
}
