import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { customerInputSchema, customerPatchSchema, userInputSchema, userPatchSchema, type CustomerView, type DeskUserView } from '../../../desk/customer-service.js';
import type { Services } from '../../../services.js';
import type { DeskRecordSortKey } from '../../../store/ports.js';
import { parseOrThrow } from '../../../shared/validation.js';
import { globalIdField, haloId, haloResource, idField, inHaloTerms, present, referenceOf, type HaloRecord } from './resource.js';

const clientRecord = z.object({ id: idField, shiplog_id: globalIdField, name: z.string(), inactive: z.boolean(), datecreated: z.string() });
const clientInput = z.object({ name: z.string().optional() });

const userRecord = z.object({
  id: idField,
  shiplog_id: globalIdField,
  name: z.string(),
  client_id: idField,
  client_name: z.string().nullable(),
  emailaddress: z.string().nullable(),
  third_party_id: z.string().nullable(),
  inactive: z.boolean(),
  datecreated: z.string(),
});
const userInput = z.object({
  name: z.string().optional(),
  client_id: z.number().int().optional(),
  emailaddress: z.string().nullable().optional(),
  third_party_id: z.string().nullable().optional(),
});
const userFields = { customerId: 'client_id', email: 'emailaddress', thirdPartyId: 'third_party_id' };

type UserWithClient = DeskUserView & { customerName: string | null };

/** The order fields of records with a name and a creation time (clients, users, agents). */
export const deskRecordOrders: Record<string, DeskRecordSortKey> = { id: 'id', name: 'name', datecreated: 'createdAt' };


/** `Client` (customers) and `Users` (their users), through the customer service within the caller's client restrictions. */
export const haloCustomerRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    const { customers } = services;

    await app.register(
      haloResource<CustomerView, DeskRecordSortKey>(services, {
        path: 'Client',
        one: 'Client',
        listKey: 'clients',
        noun: 'clients (customers)',
        description: 'Customers the caller’s client restrictions let it see (Halo’s Area record).',
        record: clientRecord,
        input: clientInput,
        read: 'customers:read',
        edit: 'customers:edit',
        orders: deskRecordOrders,
        defaultOrder: { by: 'id', desc: false },
        list: (request, { offset, limit, order, search }) => customers.pageCustomers(request.principal!, search ? { q: search } : {}, { ...order, offset, limit }),
        get: (request, id) => customers.getCustomer(request.principal!, id),
        async save(request, record, id, svc) {
          const fields = present({ name: record.name });
          if (id === null) return svc.customers.createCustomer(request.principal!, parseOrThrow(customerInputSchema, fields, 'client'));
          return svc.customers.updateCustomer(request.principal!, id, parseOrThrow(customerPatchSchema, fields, 'client'));
        },
        remove: (request, id) => customers.removeCustomer(request.principal!, id),
        ids: (c) => [c.id],
        toHalo: (c, alias) => ({ id: alias(c.id), shiplog_id: c.id, name: c.name, inactive: false, datecreated: c.createdAt }),
      }),
    );

    const withClients = async (request: Parameters<typeof customers.getCustomer>[0], users: DeskUserView[], svc = services): Promise<UserWithClient[]> => {
      const names = new Map<string, string>();
      for (const id of new Set(users.map((u) => u.customerId))) names.set(id, (await svc.customers.getCustomer(request, id)).name);
      return users.map((u) => ({ ...u, customerName: names.get(u.customerId) ?? null }));
    };

    async function saveUser(svc: Services, principal: Parameters<typeof customers.getCustomer>[0], record: HaloRecord, id: string | null): Promise<DeskUserView> {
      const customerId = record.client_id === undefined ? undefined : await referenceOf(svc, record.client_id, 'client_id');
      const fields = present({ name: record.name, customerId: customerId ?? undefined, email: record.emailaddress, thirdPartyId: record.third_party_id });
      return inHaloTerms(null, userFields, () =>
        id === null ? svc.customers.createUser(principal, parseOrThrow(userInputSchema, fields, 'user')) : svc.customers.updateUser(principal, id, parseOrThrow(userPatchSchema, fields, 'user')),
      );
    }

    await app.register(
      haloResource<UserWithClient, DeskRecordSortKey>(services, {
        path: 'Users',
        one: 'User',
        listKey: 'users',
        noun: 'users of customers',
        description: 'Users of the customers the caller may see (Halo’s Users record).',
        record: userRecord,
        input: userInput,
        read: 'users:read',
        edit: 'users:edit',
        filters: { client_id: haloId.optional() },
        orders: deskRecordOrders,
        defaultOrder: { by: 'id', desc: false },
        async list(request, { offset, limit, order, search, query }) {
          const customerId = query.client_id === undefined ? null : await referenceOf(services, query.client_id, 'client_id');
          const { items, total } = await customers.pageUsers(request.principal!, { ...(search ? { q: search } : {}), ...(customerId ? { customerId } : {}) }, { ...order, offset, limit });
          return { items: await withClients(request.principal!, items), total };
        },
        get: async (request, id) => (await withClients(request.principal!, [await customers.getUser(request.principal!, id)]))[0]!,
        save: async (request, record, id, svc) => (await withClients(request.principal!, [await saveUser(svc, request.principal!, record, id)], svc))[0]!,
        remove: (request, id) => customers.removeUser(request.principal!, id),
        ids: (u) => [u.id, u.customerId],
        toHalo: (u, alias) => ({
          id: alias(u.id),
          shiplog_id: u.id,
          name: u.name,
          client_id: alias(u.customerId)!,
          client_name: u.customerName,
          emailaddress: u.email,
          third_party_id: u.thirdPartyId,
          inactive: false,
          datecreated: u.createdAt,
        }),
      }),
    );
  };
