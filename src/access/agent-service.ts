import { z } from 'zod';
import type { Catalog } from '../catalog/catalog.js';
import { isTrackedWrite } from '../catalog/entity-type.js';
import type { WriteContext } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Settings } from '../shared/settings.js';
import { parseOrThrow } from '../shared/validation.js';
import { withStores, type AgentRecord, type ClientRestrictions, type DeskRecordSortKey, type EntityRecord, type NumberedPage, type Stores, type Transactor } from '../store/ports.js';
import type { ChangeWriter } from '../tracking/change-writer.js';
import { decodeCursor, encodeCursor } from '../tracking/cursor.js';
import { refuseWhileNamed } from '../tracking/record-references.js';
import { readSettings } from '../tracking/settings-service.js';
import { ADMINISTRATOR_ROLE_ID, ROLES_TYPE } from './administrator-role.js';
import { agentAccess, holdsRole, type AgentAccess, type Principal, type TeamMembership } from './agent-access.js';
import type { AuditLog } from './audit-log.js';
import { refuseUnknownCustomers } from './agent-customers.js';
import { everyCustomer, inScope, type CustomerScope } from './customer-scope.js';
import { explainRights, type RightsExplanation } from './agent-rights.js';
import { hashPassword } from './passwords.js';
import type { Permission } from './permissions.js';

const recordId = () => z.string().trim().min(1).max(100);
const password = () => z.string().min(12).max(1024).describe('Write-only: at least 12 characters; stored as a memory-hard hash, never returned.');

export const clientRestrictionsSchema = z
  .strictObject({
    allowAllCustomers: z.boolean().default(true),
    customerIds: z.array(recordId()).max(1000).default([]).describe('The only customers the agent may see when allowAllCustomers is false; each a customer of this instance.'),
  })
  .describe('Client restrictions: all customers, or only those listed.');

const fields = {
  name: z.string().trim().min(1).max(200),
  email: z.email().max(320).describe('Unique, case-insensitive; stored in lower case.'),
  apiOnly: z.boolean().describe('An API-only agent cannot sign in to the console and has no password.'),
  disabled: z.boolean().describe('A disabled agent has no rights: its sessions end and its tokens stop working.'),
  thirdPartyId: z.string().trim().min(1).max(200).nullable().describe('Third-party relational id; unique when set.'),
  coManagedCustomerId: recordId().nullable().describe('The co-managed IT customer this agent works for: a customer of this instance.'),
  customerGroupOverrideId: recordId().nullable().describe('Customer group override, a customer of this instance: the agent sees only agents of the same group.'),
  roleIds: z.array(z.string().max(100)).max(100).describe('Roles the agent holds; each change is recorded on the role.'),
};

/** A new agent. Strict: unknown or privileged fields (id, passwordHash, isAdministrator, …) are refused. */
export const agentCreateSchema = z.strictObject({
  name: fields.name,
  email: fields.email,
  apiOnly: fields.apiOnly.default(false),
  disabled: fields.disabled.default(false),
  thirdPartyId: fields.thirdPartyId.default(null),
  password: password().optional(),
  clientRestrictions: clientRestrictionsSchema.prefault({}),
  coManagedCustomerId: fields.coManagedCustomerId.default(null),
  customerGroupOverrideId: fields.customerGroupOverrideId.default(null),
  roleIds: fields.roleIds.default([]),
});

/** A partial update: only the fields present change; `password: null` clears the password. */
export const agentPatchSchema = z.strictObject({
  name: fields.name.optional(),
  email: fields.email.optional(),
  apiOnly: fields.apiOnly.optional(),
  disabled: fields.disabled.optional(),
  thirdPartyId: fields.thirdPartyId.optional(),
  password: password().nullable().optional(),
  clientRestrictions: clientRestrictionsSchema.optional(),
  coManagedCustomerId: fields.coManagedCustomerId.optional(),
  customerGroupOverrideId: fields.customerGroupOverrideId.optional(),
  roleIds: fields.roleIds.optional(),
});

/** An agent as the API shows it: never the password, only whether one is set. */
export interface AgentView {
  id: string;
  name: string;
  email: string;
  apiOnly: boolean;
  disabled: boolean;
  thirdPartyId: string | null;
  hasPassword: boolean;
  clientRestrictions: ClientRestrictions;
  coManagedCustomerId: string | null;
  customerGroupOverrideId: string | null;
  roles: { id: string; name: string }[];
  /** Effective now, from the roles held; a disabled agent has none. */
  permissions: Permission[];
  isAdministrator: boolean;
  createdAt: string;
  updatedAt: string;
}

/** The caller's own agent, with what the roles grant and what this request may do. */
export interface OwnAgentView extends AgentView {
  ticketPermissions: string[];
  teamMemberships: TeamMembership[];
  effective: {
    via: Principal['via'];
    application: Principal['application'];
    permissions: Permission[];
    isAdministrator: boolean;
  };
}

export interface AgentPage {
  items: AgentView[];
  nextCursor: string | null;
}

/** Whoever is looking: co-managed visibility depends on the caller's agent, and its client restrictions (when it has any). */
export type AgentViewer = Pick<Principal, 'agent'> & { access?: Pick<Principal['access'], 'customers'> };

export interface AgentService {
  list(viewer: AgentViewer, query: { cursor?: string; limit: number; q?: string }): Promise<AgentPage>;
  /** A numbered page of the agents the viewer sees, and how many it sees in all (counted in the store). */
  page(viewer: AgentViewer, query: { q?: string }, page: NumberedPage<DeskRecordSortKey>): Promise<{ items: AgentView[]; total: number }>;
  get(viewer: AgentViewer, id: string): Promise<AgentView>;
  me(principal: Principal): Promise<OwnAgentView>;
  /** Which role gives the agent which right (an agent the viewer may not see is not found). */
  rights(viewer: AgentViewer, id: string): Promise<RightsExplanation>;
  /** The same for the caller's own agent. */
  ownRights(principal: Principal): Promise<RightsExplanation>;
  /** `viewer`: whose customers the agent may name; without one (Shiplog itself), any customer of this instance. */
  create(ctx: WriteContext, input: unknown, viewer?: AgentViewer): Promise<AgentView>;
  update(ctx: WriteContext, viewer: AgentViewer, id: string, input: unknown): Promise<AgentView>;
  remove(ctx: WriteContext, viewer: AgentViewer, id: string): Promise<void>;
}

/** The customer group an agent is confined to: its override when set, else its co-managed customer. */
export function customerGroupOf(agent: Pick<AgentRecord, 'customerGroupOverrideId' | 'coManagedCustomerId'>): string | null {
  return agent.customerGroupOverrideId ?? agent.coManagedCustomerId;
}

/** Co-managed visibility: an agent confined to a customer group sees only the agents of that group. */
export function canSeeAgent(viewer: AgentRecord, agent: AgentRecord): boolean {
  const group = customerGroupOf(viewer);
  return group === null || viewer.id === agent.id || customerGroupOf(agent) === group;
}

/** An agent working for a co-managed customer is that customer's: a viewer restricted to other customers does not see it. */
function seesAgent(viewer: AgentViewer, agent: AgentRecord): boolean {
  return canSeeAgent(viewer.agent, agent) && (agent.coManagedCustomerId === null || !viewer.access || inScope(viewer.access.customers, agent.coManagedCustomerId));
}

function agentIdsOf(body: Record<string, unknown>): string[] {
  const ids = body.agentIds;
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}

function thirdPartyIdsOf(body: Record<string, unknown>): string[] {
  const ids = body.agentThirdPartyIds;
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}

// Views of many agents read the roles once: agentAccess asks for them per agent.
function withRoles(stores: Stores, roles: EntityRecord[]): Stores {
  return withStores(stores, { entities: { ...stores.entities, listAll: async (type) => (type === ROLES_TYPE ? roles : stores.entities.listAll(type)) } });
}

function notFound(id: string): DomainError {
  return new DomainError('AGENT_NOT_FOUND', `There is no agent with id ${id}.`, { id });
}

/** What changed of an agent that decides who can act as it, or whether it acts at all. */
export interface CredentialChange {
  /** The fields changed among email, password, thirdPartyId (single sign-on matches by these), apiOnly and disabled. */
  fields: string[];
  /** Whether the caller could now act as the agent: a new password, email or third-party id. */
  takeover: boolean;
}

/**
 * Refuses a create or change of an agent that would give rights the caller does not hold. An administrator's
 * credentials and status, and who becomes an administrator, are changed only by an administrator acting itself (never
 * through an application). Otherwise the caller must hold whatever the agent gains, and, when it could now act as the
 * agent, everything the agent holds.
 */
/** Customers the agent would see beyond the caller's own: `every customer`, or each customer id newly out of the caller's reach. */
function customersBeyond(caller: CustomerScope, before: AgentAccess | null, after: AgentAccess, takeover: boolean): string[] {
  // An agent with no permission sees nothing, whatever its restrictions say.
  if (caller.kind === 'all' || after.permissions.size === 0) return [];
  const had = takeover || before === null || before.permissions.size === 0 ? null : before.customers;
  if (after.customers.kind === 'all') return had?.kind === 'all' ? [] : ['every customer'];
  return [...after.customers.customerIds]
    .filter((id) => !caller.customerIds.has(id) && !(had !== null && inScope(had, id)))
    .map((id) => `customer ${id}`);
}

function refuseUnlessGrantable(ctx: WriteContext, agent: AgentRecord, before: AgentAccess | null, after: AgentAccess, change: CredentialChange, caller: CustomerScope): void {
  const { authority } = ctx;
  if (authority.isAdministrator && !authority.viaApplication) return;
  const administrator = (before?.isAdministrator ?? false) || after.isAdministrator;
  if (administrator && (change.fields.length > 0 || !before?.isAdministrator)) {
    throw new DomainError('FORBIDDEN', `Only an administrator of this instance, signed in or with their own API token, changes an administrator's credentials or makes an agent administrator (${agent.name}).`, {
      agentId: agent.id,
      fields: change.fields,
      needs: ['administrator'],
    });
  }
  const held = (p: string) => authority.permissions.has(p);
  const had = before ?? { permissions: new Set<string>(), ticketPermissions: new Set<string>() };
  const missing = [
    ...[...after.permissions].filter((p) => !held(p) && (change.takeover || !had.permissions.has(p))),
    ...[...after.ticketPermissions].filter((flag) => !authority.ticketPermissions.has(flag) && (change.takeover || !had.ticketPermissions.has(flag))).map((flag) => `ticket permission ${flag}`),
    ...customersBeyond(caller, before, after, change.takeover).map((what) => `access to ${what}`),
  ];
  if (missing.length > 0) {
    throw new DomainError('FORBIDDEN', `Agent ${agent.name} would hold ${missing.join(', ')}${change.takeover ? ' under credentials the caller sets' : ''}, which the caller does not hold.`, {
      agentId: agent.id,
      fields: change.fields,
      missing,
    });
  }
}

/**
 * Settings under which an agent's rights are judged for a grant: as if linking by third-party id were on, since
 * turning it on (a configuration setting) would give the agent every role that names its third-party id.
 */
const linked = (settings: Settings): Settings => ({ ...settings, useThirdPartyIds: true });

function refusePasswordForApiOnly(apiOnly: boolean, hasNewPassword: boolean): void {
  if (apiOnly && hasNewPassword) {
    throw new DomainError('VALIDATION_FAILED', 'An API-only agent cannot have a password.', {
      errors: [{ path: 'password', code: 'api-only-agent', message: 'API-only agents never sign in to the console, so they have no password.' }],
    });
  }
}

export function createAgentService(deps: { db: Transactor; clock: Clock; catalog: Catalog; writer: ChangeWriter; audit: AuditLog }): AgentService {
  const { db, clock, catalog, writer, audit } = deps;

  async function viewsOf(stores: Stores, agents: AgentRecord[]): Promise<AgentView[]> {
    const settings = await readSettings(stores);
    const roles = await stores.entities.listAll(ROLES_TYPE);
    const cached = withRoles(stores, roles);
    const views: AgentView[] = [];
    for (const agent of agents) views.push(await viewOf(cached, agent, roles, settings));
    return views;
  }

  async function viewOf(stores: Stores, agent: AgentRecord, roles: EntityRecord[], settings: Settings): Promise<AgentView> {
    const access = await agentAccess(stores, agent, settings);
    return {
      id: agent.id,
      name: agent.name,
      email: agent.email,
      apiOnly: agent.apiOnly,
      disabled: agent.disabled,
      thirdPartyId: agent.thirdPartyId,
      hasPassword: agent.passwordHash !== null,
      clientRestrictions: { allowAllCustomers: agent.clientRestrictions.allowAllCustomers, customerIds: [...agent.clientRestrictions.customerIds] },
      coManagedCustomerId: agent.coManagedCustomerId,
      customerGroupOverrideId: agent.customerGroupOverrideId,
      roles: roles.filter((role) => holdsRole(role, agent, settings)).map((role) => ({ id: role.id, name: role.name })),
      permissions: [...access.permissions].sort(),
      isAdministrator: access.isAdministrator,
      createdAt: new Date(agent.createdAt).toISOString(),
      updatedAt: new Date(agent.updatedAt).toISOString(),
    };
  }

  async function ownAgent(stores: Stores, principal: Principal): Promise<AgentRecord> {
    const agent = await stores.agents.find(principal.agent.id);
    if (!agent) throw notFound(principal.agent.id);
    return agent;
  }

  async function explain(stores: Stores, agent: AgentRecord): Promise<RightsExplanation> {
    const settings = await readSettings(stores);
    const roles = await stores.entities.listAll(ROLES_TYPE);
    // Explained once to learn which teams and customers it names, then again with their names.
    const bare = explainRights(agent, roles, settings);
    const teams = new Map((await stores.entities.findMany(bare.teams.map((t) => t.teamId))).map((team) => [team.id, team.name]));
    const customers = new Map<string, string>();
    for (const id of new Set([...bare.customers.customers.map((c) => c.id), ...bare.customers.restrictedBy.flatMap((r) => r.customers.map((c) => c.id))])) {
      const customer = await stores.desk.findCustomer(id);
      if (customer) customers.set(id, customer.name);
    }
    return explainRights(agent, roles, settings, { team: (id) => teams.get(id) ?? null, customer: (id) => customers.get(id) ?? null });
  }

  async function viewOne(stores: Stores, agent: AgentRecord): Promise<AgentView> {
    const [view] = await viewsOf(stores, [agent]);
    return view!;
  }

  async function loadVisible(stores: Stores, viewer: AgentViewer, id: string): Promise<AgentRecord> {
    const agent = await stores.agents.find(id);
    // An agent the caller may not see is reported missing, so its existence does not leak.
    if (!agent || !seesAgent(viewer, agent)) throw notFound(id);
    return agent;
  }

  async function refuseTakenEmail(stores: Stores, email: string, selfId: string | null): Promise<void> {
    const holder = await stores.agents.findByEmail(email);
    if (holder && holder.id !== selfId) {
      throw new DomainError('EMAIL_TAKEN', 'Another agent already has this email address.', {
        errors: [{ path: 'email', code: 'email-taken', message: 'Another agent already has this email address.' }],
      });
    }
  }

  async function refuseTakenThirdPartyId(stores: Stores, thirdPartyId: string, selfId: string | null): Promise<void> {
    const pageSize = 500;
    let afterId: string | undefined;
    for (;;) {
      const page = await stores.agents.list({ limit: pageSize, ...(afterId ? { afterId } : {}) });
      if (page.some((a) => a.thirdPartyId === thirdPartyId && a.id !== selfId)) {
        throw new DomainError('THIRD_PARTY_ID_TAKEN', 'Another agent already has this third-party id.', {
          errors: [{ path: 'thirdPartyId', code: 'third-party-id-taken', message: 'Another agent already has this third-party id.' }],
        });
      }
      if (page.length < pageSize) return;
      afterId = page.at(-1)!.id;
    }
  }

  async function enabledAdministrators(stores: Stores): Promise<AgentRecord[]> {
    const role = await stores.entities.find(ADMINISTRATOR_ROLE_ID);
    if (!role) return [];
    return (await stores.agents.findMany(agentIdsOf(role.body))).filter((a) => !a.disabled);
  }

  async function isEnabledAdministrator(stores: Stores, agent: AgentRecord): Promise<boolean> {
    return (await enabledAdministrators(stores)).some((a) => a.id === agent.id);
  }

  function administratorProtected(): DomainError {
    return new DomainError('ADMINISTRATOR_PROTECTED', 'The Administrator role must keep at least one enabled agent.', {
      errors: [{ path: '', code: 'last-administrator', message: 'This is the last enabled administrator: enable or add another administrator first.' }],
    });
  }

  /** Adds the agent to the wanted roles and removes it from the others, each role edit a recorded change. */
  async function assignRoles(
    stores: Stores,
    ctx: WriteContext,
    settings: Settings,
    agent: AgentRecord,
    wanted: string[],
  ): Promise<{ added: string[]; removed: string[] }> {
    const def = catalog.get(ROLES_TYPE);
    const roles = await stores.entities.listAll(ROLES_TYPE);
    const known = new Set(roles.map((r) => r.id));
    const problems: FieldProblem[] = wanted
      .map((id, i) => ({ id, i }))
      .filter(({ id }) => !known.has(id))
      .map(({ id, i }) => ({ path: `roleIds[${i}]`, code: 'reference-not-found', message: `No role has id ${id}.` }));
    if (problems.length > 0) throw new DomainError('REFERENCE_NOT_FOUND', 'The agent names roles that do not exist on this instance.', { errors: problems });

    const want = new Set(wanted);
    const added: string[] = [];
    const removed: string[] = [];
    for (const role of roles) {
      const holds = holdsRole(role, agent, settings);
      if (want.has(role.id) === holds) continue;
      let next: Record<string, unknown>;
      if (want.has(role.id)) {
        next = { ...role.body, agentIds: [...agentIdsOf(role.body), agent.id] };
        added.push(role.id);
      } else {
        next = { ...role.body, agentIds: agentIdsOf(role.body).filter((id) => id !== agent.id) };
        if (settings.useThirdPartyIds && agent.thirdPartyId !== null) {
          next.agentThirdPartyIds = thirdPartyIdsOf(role.body).filter((id) => id !== agent.thirdPartyId);
        }
        removed.push(role.id);
      }
      if (settings.disableConfigEditing && isTrackedWrite(def, role.body, next, { settings: { ...settings, configTracking: true } })) {
        throw new DomainError('CONFIG_LOCKED', 'Editing of config-tracked entities is disabled on this instance, and roles are tracked.', { type: def.key });
      }
      await writer.write(stores, { def, entityId: role.id, current: role, next, ctx, settings });
    }
    return { added, removed };
  }

  return {
    list(viewer, query) {
      const afterId = query.cursor ? decodeCursor(query.cursor) : undefined;
      return db.read(async (stores) => {
        const visible: AgentRecord[] = [];
        const batch = query.limit + 1;
        let position = afterId;
        // Co-managed callers skip agents outside their group, so read on until the page is full.
        for (;;) {
          const rows = await stores.agents.list({ limit: batch, ...(position ? { afterId: position } : {}), ...(query.q ? { nameContains: query.q } : {}) });
          visible.push(...rows.filter((a) => seesAgent(viewer, a)));
          if (visible.length > query.limit || rows.length < batch) break;
          position = rows.at(-1)!.id;
        }
        const page = visible.slice(0, query.limit);
        const last = page.at(-1);
        return { items: await viewsOf(stores, page), nextCursor: visible.length > query.limit && last ? encodeCursor(last.id) : null };
      });
    },

    page(viewer, query, page) {
      const groupId = customerGroupOf(viewer.agent);
      const customers = viewer.access?.customers;
      // The filter seesAgent applies, in the store's terms.
      const filter = {
        ...(query.q ? { nameContains: query.q } : {}),
        ...(groupId !== null ? { group: { groupId, agentId: viewer.agent.id } } : {}),
        ...(customers && customers.kind === 'only' ? { coManagedIn: [...customers.customerIds] } : {}),
      };
      return db.read(async (stores) => {
        const { rows, total } = await stores.agents.page(filter, page);
        return { items: await viewsOf(stores, rows), total };
      });
    },

    get(viewer, id) {
      return db.read(async (stores) => viewOne(stores, await loadVisible(stores, viewer, id)));
    },

    me(principal) {
      return db.read(async (stores) => {
        const agent = await ownAgent(stores, principal);
        const settings = await readSettings(stores);
        const roles = await stores.entities.listAll(ROLES_TYPE);
        const cached = withRoles(stores, roles);
        const access = await agentAccess(cached, agent, settings);
        return {
          ...(await viewOf(cached, agent, roles, settings)),
          ticketPermissions: [...access.ticketPermissions].sort(),
          teamMemberships: access.teamMemberships,
          effective: {
            via: principal.via,
            application: principal.application,
            permissions: [...principal.permissions].sort(),
            isAdministrator: principal.isAdministrator,
          },
        };
      });
    },

    rights(viewer, id) {
      return db.read(async (stores) => explain(stores, await loadVisible(stores, viewer, id)));
    },

    ownRights(principal) {
      return db.read(async (stores) => explain(stores, await ownAgent(stores, principal)));
    },

    async create(ctx, input, viewer) {
      const values = parseOrThrow(agentCreateSchema, input, 'agent');
      refusePasswordForApiOnly(values.apiOnly, values.password !== undefined);
      // Hashing is slow by design; do it before taking the write lock.
      const passwordHash = values.password !== undefined ? await hashPassword(values.password) : null;
      return audit.denialsOf(ctx, 'new agent', () => db.write(async (stores) => {
        const email = values.email.toLowerCase();
        await refuseTakenEmail(stores, email, null);
        if (values.thirdPartyId !== null) await refuseTakenThirdPartyId(stores, values.thirdPartyId, null);
        await refuseUnknownCustomers(stores, values, null, viewer?.access?.customers ?? everyCustomer);
        const now = clock.now();
        const agent: AgentRecord = {
          id: newId(now),
          name: values.name,
          email,
          apiOnly: values.apiOnly,
          disabled: values.disabled,
          thirdPartyId: values.thirdPartyId,
          passwordHash,
          clientRestrictions: values.clientRestrictions,
          coManagedCustomerId: values.coManagedCustomerId,
          customerGroupOverrideId: values.customerGroupOverrideId,
          createdAt: now,
          updatedAt: now,
        };
        await stores.agents.insert(agent);
        const settings = await readSettings(stores);
        const { added } = await assignRoles(stores, ctx, settings, agent, values.roleIds);
        // Its roles, and any role that names its third-party id: everything it holds is the caller's to give.
        refuseUnlessGrantable(ctx, agent, null, await agentAccess(stores, agent, linked(settings)), { fields: [], takeover: true }, viewer?.access?.customers ?? everyCustomer);
        await audit.recordIn(stores, {
          kind: 'agent.created',
          outcome: 'success',
          actor: ctx.actor,
          request: ctx.request,
          subject: agent.id,
          details: { name: agent.name, email: agent.email, apiOnly: agent.apiOnly, disabled: agent.disabled, hasPassword: passwordHash !== null, roleIds: added },
        });
        return viewOne(stores, agent);
      }));
    },

    async update(ctx, viewer, id, input) {
      const patch = parseOrThrow(agentPatchSchema, input, 'agent update');
      const newHash = typeof patch.password === 'string' ? await hashPassword(patch.password) : undefined;
      return audit.denialsOf(ctx, `agent ${id}`, () => db.write(async (stores) => {
        const current = await loadVisible(stores, viewer, id);
        const next: AgentRecord = { ...current };
        if (patch.name !== undefined) next.name = patch.name;
        if (patch.email !== undefined) next.email = patch.email.toLowerCase();
        if (patch.apiOnly !== undefined) next.apiOnly = patch.apiOnly;
        if (patch.disabled !== undefined) next.disabled = patch.disabled;
        if (patch.thirdPartyId !== undefined) next.thirdPartyId = patch.thirdPartyId;
        if (patch.clientRestrictions !== undefined) next.clientRestrictions = patch.clientRestrictions;
        if (patch.coManagedCustomerId !== undefined) next.coManagedCustomerId = patch.coManagedCustomerId;
        if (patch.customerGroupOverrideId !== undefined) next.customerGroupOverrideId = patch.customerGroupOverrideId;
        refusePasswordForApiOnly(next.apiOnly, newHash !== undefined);
        if (newHash !== undefined) next.passwordHash = newHash;
        else if (patch.password === null || next.apiOnly) next.passwordHash = null;

        if (next.email !== current.email) await refuseTakenEmail(stores, next.email, id);
        if (next.thirdPartyId !== null && next.thirdPartyId !== current.thirdPartyId) await refuseTakenThirdPartyId(stores, next.thirdPartyId, id);
        if (next.thirdPartyId !== current.thirdPartyId) await refuseWhileNamed(stores, { kind: 'agent', ...current }, 'third-party-id');
        await refuseUnknownCustomers(stores, next, current, viewer.access?.customers ?? everyCustomer);

        const changed = (['name', 'email', 'apiOnly', 'disabled', 'thirdPartyId', 'coManagedCustomerId', 'customerGroupOverrideId'] as const).filter(
          (key) => next[key] !== current[key],
        ) as string[];
        if (JSON.stringify(next.clientRestrictions) !== JSON.stringify(current.clientRestrictions)) changed.push('clientRestrictions');
        const passwordChanged = newHash !== undefined || next.passwordHash !== current.passwordHash;

        const wasAdministrator = await isEnabledAdministrator(stores, current);
        const settings = await readSettings(stores);
        const accessBefore = await agentAccess(stores, current, linked(settings));
        if (changed.length > 0 || passwordChanged) {
          next.updatedAt = clock.now();
          await stores.agents.update(next);
        }
        const roles = patch.roleIds !== undefined ? await assignRoles(stores, ctx, settings, next, patch.roleIds) : { added: [], removed: [] };
        if (wasAdministrator && (await enabledAdministrators(stores)).length === 0) throw administratorProtected();
        const credentials = [...(['email', 'thirdPartyId', 'apiOnly', 'disabled'] as const).filter((key) => changed.includes(key)), ...(passwordChanged ? ['password'] : [])];
        const takeover = newHash !== undefined || changed.includes('email') || changed.includes('thirdPartyId');
        refuseUnlessGrantable(ctx, next, accessBefore, await agentAccess(stores, next, linked(settings)), { fields: credentials, takeover }, viewer.access?.customers ?? everyCustomer);

        // Ending sessions: a disabled agent has none; a new password or API-only status invalidates console sign-ins.
        if ((next.disabled && !current.disabled) || passwordChanged || (next.apiOnly && !current.apiOnly)) await stores.sessions.removeForAgent(id);

        const event = { outcome: 'success' as const, actor: ctx.actor, request: ctx.request, subject: id };
        if (next.disabled !== current.disabled) {
          await audit.recordIn(stores, { ...event, kind: next.disabled ? 'agent.disabled' : 'agent.enabled', details: { name: next.name, email: next.email } });
        }
        if (passwordChanged) {
          await audit.recordIn(stores, {
            ...event,
            kind: next.passwordHash === null ? 'agent.password-cleared' : 'agent.password-changed',
            details: { name: next.name, email: next.email, ...(next.passwordHash === null && next.apiOnly ? { reason: 'api-only' } : {}) },
          });
        }
        const otherFields = changed.filter((key) => key !== 'disabled');
        if (otherFields.length > 0 || roles.added.length > 0 || roles.removed.length > 0) {
          await audit.recordIn(stores, {
            ...event,
            kind: 'agent.updated',
            details: { name: next.name, email: next.email, fields: otherFields, rolesAdded: roles.added, rolesRemoved: roles.removed },
          });
        }
        return viewOne(stores, next);
      }));
    },

    remove(ctx, viewer, id) {
      return audit.denialsOf(ctx, `agent ${id}`, () => db.write(async (stores) => {
        const agent = await loadVisible(stores, viewer, id);
        const applications = await stores.applications.countForAgent(id);
        if (applications > 0) {
          throw new DomainError('AGENT_IN_USE', `${applications} API application(s) log in as this agent; change or delete them first.`, { applications });
        }
        if ((await isEnabledAdministrator(stores, agent)) && (await enabledAdministrators(stores)).length === 1) throw administratorProtected();
        const { removed } = await assignRoles(stores, ctx, await readSettings(stores), agent, []);
        await refuseWhileNamed(stores, { kind: 'agent', ...agent });
        // Also removes the agent's personal tokens and sessions.
        await stores.agents.remove(id);
        await audit.recordIn(stores, {
          kind: 'agent.deleted',
          outcome: 'success',
          actor: ctx.actor,
          request: ctx.request,
          subject: id,
          details: { name: agent.name, email: agent.email, rolesRemoved: removed },
        });
      }));
    },
  };
}
