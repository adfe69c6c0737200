import { sql, type Kysely, type Selectable, type SelectQueryBuilder } from 'kysely';
import type { AgentsTable, ApplicationsTable, AuditEventsTable, Database } from '../schema.js';
import type {
  AgentPageFilter,
  AccessTokenStore,
  AgentRecord,
  AgentStore,
  ApplicationRecord,
  ApplicationStore,
  AuditEvent,
  AuditStore,
  ClientRestrictions,
  SessionStore,
  SsoAttemptStore,
  ThrottleStore,
  TokenStore,
} from '../ports.js';
import { likeContains } from './like.js';
import { countedPage } from './numbered-page.js';

function agentsWhere<O>(query: SelectQueryBuilder<Database, 'agents', O>, { nameContains, group, coManagedIn }: AgentPageFilter) {
  if (nameContains) query = query.where((eb) => eb.or([likeContains(eb, 'name', nameContains), likeContains(eb, 'email', nameContains)]));
  if (group) {
    query = query.where((eb) =>
      eb.or([eb('id', '=', group.agentId), eb(eb.fn.coalesce('customer_group_override_id', 'co_managed_customer_id'), '=', group.groupId)]),
    );
  }
  if (coManagedIn) {
    const ids = coManagedIn;
    query = query.where((eb) => eb.or([eb('co_managed_customer_id', 'is', null), ...(ids.length > 0 ? [eb('co_managed_customer_id', 'in', ids)] : [])]));
  }
  return query;
}

function toAgent(row: Selectable<AgentsTable>): AgentRecord {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    apiOnly: Number(row.api_only) === 1,
    disabled: Number(row.disabled) === 1,
    thirdPartyId: row.third_party_id,
    passwordHash: row.password_hash,
    clientRestrictions: JSON.parse(row.client_restrictions) as ClientRestrictions,
    coManagedCustomerId: row.co_managed_customer_id,
    customerGroupOverrideId: row.customer_group_override_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function agentRow(agent: AgentRecord): Selectable<AgentsTable> {
  return {
    id: agent.id,
    name: agent.name,
    email: agent.email,
    api_only: agent.apiOnly ? 1 : 0,
    disabled: agent.disabled ? 1 : 0,
    third_party_id: agent.thirdPartyId,
    password_hash: agent.passwordHash,
    client_restrictions: JSON.stringify(agent.clientRestrictions),
    co_managed_customer_id: agent.coManagedCustomerId,
    customer_group_override_id: agent.customerGroupOverrideId,
    created_at: agent.createdAt,
    updated_at: agent.updatedAt,
  };
}

export function createAgentStore(db: Kysely<Database>): AgentStore {
  return {
    async find(id) {
      const row = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toAgent(row) : undefined;
    },
    async findByEmail(email) {
      const row = await db.selectFrom('agents').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
      return row ? toAgent(row) : undefined;
    },
    async findMany(ids) {
      if (ids.length === 0) return [];
      return (await db.selectFrom('agents').selectAll().where('id', 'in', ids).execute()).map(toAgent);
    },
    async list({ afterId, limit, nameContains }) {
      let query = db.selectFrom('agents').selectAll();
      if (afterId) query = query.where('id', '>', afterId);
      if (nameContains) query = query.where((eb) => eb.or([likeContains(eb, 'name', nameContains), likeContains(eb, 'email', nameContains)]));
      return (await query.orderBy('id').limit(limit).execute()).map(toAgent);
    },
    async page(filter, page) {
      return countedPage(db, 'agents', (query) => agentsWhere(query, filter), { id: 'id', name: 'name', createdAt: 'created_at' }, page, toAgent);
    },
    async count() {
      const row = await db.selectFrom('agents').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async insert(agent) {
      await db.insertInto('agents').values(agentRow(agent)).execute();
    },
    async update(agent) {
      const { id, ...rest } = agentRow(agent);
      await db.updateTable('agents').set(rest).where('id', '=', id).execute();
    },
    async remove(id) {
      await db.deleteFrom('api_tokens').where('agent_id', '=', id).execute();
      await db.deleteFrom('sessions').where('agent_id', '=', id).execute();
      await db.deleteFrom('agents').where('id', '=', id).execute();
    },
  };
}

export function createTokenStore(db: Kysely<Database>): TokenStore {
  return {
    async findByHash(tokenHash) {
      const row = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row ? { id: row.id, agentId: row.agent_id, tokenHash: row.token_hash, label: row.label, createdAt: Number(row.created_at) } : undefined;
    },
    async insert(token) {
      await db
        .insertInto('api_tokens')
        .values({ id: token.id, agent_id: token.agentId, token_hash: token.tokenHash, label: token.label, created_at: token.createdAt })
        .execute();
    },
    async removeForAgent(agentId) {
      await db.deleteFrom('api_tokens').where('agent_id', '=', agentId).execute();
    },
  };
}

function toApplication(row: Selectable<ApplicationsTable>): ApplicationRecord {
  return {
    id: row.id,
    name: row.name,
    clientId: row.client_id,
    secretHash: row.secret_hash,
    agentId: row.agent_id,
    permissions: JSON.parse(row.permissions) as string[],
    enabled: Number(row.enabled) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    secretRotatedAt: Number(row.secret_rotated_at),
  };
}

function applicationRow(app: ApplicationRecord): Selectable<ApplicationsTable> {
  return {
    id: app.id,
    name: app.name,
    client_id: app.clientId,
    secret_hash: app.secretHash,
    agent_id: app.agentId,
    permissions: JSON.stringify(app.permissions),
    enabled: app.enabled ? 1 : 0,
    created_at: app.createdAt,
    updated_at: app.updatedAt,
    secret_rotated_at: app.secretRotatedAt,
  };
}

export function createApplicationStore(db: Kysely<Database>): ApplicationStore {
  return {
    async find(id) {
      const row = await db.selectFrom('applications').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toApplication(row) : undefined;
    },
    async findByClientId(clientId) {
      const row = await db.selectFrom('applications').selectAll().where('client_id', '=', clientId).executeTakeFirst();
      return row ? toApplication(row) : undefined;
    },
    async list({ afterId, limit, nameContains }) {
      let query = db.selectFrom('applications').selectAll();
      if (afterId) query = query.where('id', '>', afterId);
      if (nameContains) query = query.where((eb) => likeContains(eb, 'name', nameContains));
      return (await query.orderBy('id').limit(limit).execute()).map(toApplication);
    },
    async countForAgent(agentId) {
      const row = await db
        .selectFrom('applications')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('agent_id', '=', agentId)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async insert(app) {
      await db.insertInto('applications').values(applicationRow(app)).execute();
    },
    async update(app) {
      const { id, ...rest } = applicationRow(app);
      await db.updateTable('applications').set(rest).where('id', '=', id).execute();
    },
    async remove(id) {
      await db.deleteFrom('access_tokens').where('application_id', '=', id).execute();
      await db.deleteFrom('applications').where('id', '=', id).execute();
    },
  };
}

export function createAccessTokenStore(db: Kysely<Database>): AccessTokenStore {
  return {
    async find(tokenHash) {
      const row = await db.selectFrom('access_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row
        ? {
            tokenHash: row.token_hash,
            applicationId: row.application_id,
            scopes: JSON.parse(row.scopes) as string[],
            issuedAt: Number(row.issued_at),
            expiresAt: Number(row.expires_at),
          }
        : undefined;
    },
    async insert(token) {
      await db
        .insertInto('access_tokens')
        .values({
          token_hash: token.tokenHash,
          application_id: token.applicationId,
          scopes: JSON.stringify(token.scopes),
          issued_at: token.issuedAt,
          expires_at: token.expiresAt,
        })
        .execute();
    },
    async removeForApplication(applicationId) {
      await db.deleteFrom('access_tokens').where('application_id', '=', applicationId).execute();
    },
    removeExpired: (now, limit) => removeExpiredRows(db, 'access_tokens', 'token_hash', '<=', now, limit),
  };
}

export function createSessionStore(db: Kysely<Database>): SessionStore {
  return {
    async find(tokenHash) {
      const row = await db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row
        ? { tokenHash: row.token_hash, agentId: row.agent_id, csrfHash: row.csrf_hash, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) }
        : undefined;
    },
    async insert(session) {
      await db
        .insertInto('sessions')
        .values({
          token_hash: session.tokenHash,
          agent_id: session.agentId,
          csrf_hash: session.csrfHash,
          created_at: session.createdAt,
          expires_at: session.expiresAt,
        })
        .execute();
    },
    async remove(tokenHash) {
      await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
    },
    async removeForAgent(agentId) {
      await db.deleteFrom('sessions').where('agent_id', '=', agentId).execute();
    },
    removeExpired: (now, limit) => removeExpiredRows(db, 'sessions', 'token_hash', '<=', now, limit),
  };
}

function toAuditEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: row.id,
    at: Number(row.at),
    kind: row.kind,
    outcome: row.outcome as AuditEvent['outcome'],
    actor: row.actor_kind ? { kind: row.actor_kind as 'agent', id: row.actor_id ?? '', name: row.actor_name ?? '' } : null,
    remoteAddress: row.remote_address,
    requestId: row.request_id,
    subject: row.subject,
    details: JSON.parse(row.details) as Record<string, unknown>,
    ...(row.coalesce_key === null ? {} : { count: Number(row.count), lastAt: Number(row.last_at ?? row.at) }),
  };
}

function auditRow(event: AuditEvent, coalesceKey: string | null): Selectable<AuditEventsTable> {
  return {
    id: event.id,
    at: event.at,
    kind: event.kind,
    outcome: event.outcome,
    actor_kind: event.actor?.kind ?? null,
    actor_id: event.actor?.id ?? null,
    actor_name: event.actor?.name ?? null,
    remote_address: event.remoteAddress,
    request_id: event.requestId,
    subject: event.subject,
    details: JSON.stringify(event.details),
    count: 1,
    last_at: coalesceKey === null ? null : event.at,
    coalesce_key: coalesceKey,
  };
}

export function createAuditStore(db: Kysely<Database>): AuditStore {
  return {
    async append(event) {
      await db.insertInto('audit_events').values(auditRow(event, null)).execute();
    },
    async coalesce(event, key) {
      await db
        .insertInto('audit_events')
        .values(auditRow(event, key))
        .onConflict((oc) => oc.column('coalesce_key').doUpdateSet((eb) => ({ count: eb('audit_events.count', '+', 1), last_at: event.at })))
        .execute();
    },
    async list(query) {
      let q = db.selectFrom('audit_events').selectAll();
      if (query.kind) q = q.where('kind', '=', query.kind);
      if (query.outcome) q = q.where('outcome', '=', query.outcome);
      if (query.actorId) q = q.where('actor_id', '=', query.actorId);
      if (query.from !== undefined) q = q.where('at', '>=', query.from);
      if (query.to !== undefined) q = q.where('at', '<=', query.to);
      if (query.beforeId) q = q.where('id', '<', query.beforeId);
      return (await q.orderBy('id', 'desc').limit(query.limit).execute()).map(toAuditEvent);
    },
  };
}

export function createThrottleStore(db: Kysely<Database>): ThrottleStore {
  return {
    async get(key) {
      const row = await db.selectFrom('auth_throttle').selectAll().where('key', '=', key).executeTakeFirst();
      return row ? { windowStart: Number(row.window_start), failures: Number(row.failures) } : undefined;
    },
    async put(key, windowStart, failures, expiresAt) {
      await db
        .insertInto('auth_throttle')
        .values({ key, window_start: windowStart, failures, expires_at: expiresAt })
        .onConflict((oc) => oc.column('key').doUpdateSet({ window_start: windowStart, failures, expires_at: expiresAt }))
        .execute();
    },
    async clear(key) {
      await db.deleteFrom('auth_throttle').where('key', '=', key).execute();
    },
    removeExpired: (now, limit) => removeExpiredRows(db, 'auth_throttle', 'key', '<=', now, limit),
  };
}

export function createSsoAttemptStore(db: Kysely<Database>): SsoAttemptStore {
  return {
    async insert(a) {
      await db
        .insertInto('sso_attempts')
        .values({
          state_hash: a.stateHash,
          connection_id: a.connectionId,
          verifier: a.verifier,
          nonce: a.nonce,
          redirect_uri: a.redirectUri,
          created_at: a.createdAt,
          expires_at: a.expiresAt,
          source: a.source,
        })
        .execute();
    },
    async take(stateHash) {
      const row = await db.selectFrom('sso_attempts').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
      if (!row) return undefined;
      const { numDeletedRows } = await db.deleteFrom('sso_attempts').where('state_hash', '=', stateHash).executeTakeFirst();
      // Two callbacks racing for one state: only the one that removed it goes on.
      if (Number(numDeletedRows) !== 1) return undefined;
      return {
        stateHash: row.state_hash,
        connectionId: row.connection_id,
        verifier: row.verifier,
        nonce: row.nonce,
        redirectUri: row.redirect_uri,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
        source: row.source,
      };
    },
    removeExpired: (now, limit) => removeExpiredRows(db, 'sso_attempts', 'state_hash', '<', now, limit),
    async pending(now, source) {
      const row = await db
        .selectFrom('sso_attempts')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('expires_at').as('first')])
        .where('source', '=', source)
        .where('expires_at', '>=', now)
        .executeTakeFirst();
      return { count: Number(row?.n ?? 0), firstExpiry: row?.first === null || row?.first === undefined ? null : Number(row.first) };
    },
    async count() {
      const row = await db.selectFrom('sso_attempts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async removeOldest(count) {
      if (count <= 0) return;
      await db
        .deleteFrom('sso_attempts')
        .where('state_hash', 'in', (eb) => eb.selectFrom('sso_attempts').select('state_hash').orderBy('created_at').orderBy('state_hash').limit(count))
        .execute();
    },
  };
}

type Expiring = 'access_tokens' | 'sessions' | 'auth_throttle' | 'sso_attempts';

/** Deletes up to `limit` rows of `table` expired at `now`, chosen by key in one statement both engines take. */
async function removeExpiredRows<T extends Expiring>(db: Kysely<Database>, table: T, key: string, op: '<' | '<=', now: number, limit: number): Promise<number> {
  const expired = db.selectFrom(table as Expiring).select(sql.ref<string>(key).as('k')).where('expires_at', op, now).limit(limit);
  const result = await db.deleteFrom(table as Expiring).where(sql.ref(key), 'in', expired).executeTakeFirst();
  return Number(result.numDeletedRows);
}
