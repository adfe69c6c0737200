import type { Kysely, Selectable } from 'kysely';
import type { AgentsTable, Database } from '../schema.js';
import type { AgentRecord, AgentStore, InstanceStore, SettingsStore, TokenStore } from '../ports.js';

export function createInstanceStore(db: Kysely<Database>): InstanceStore {
  return {
    async get() {
      const row = await db.selectFrom('instance_info').selectAll().where('singleton', '=', 1).executeTakeFirst();
      return row ? { id: row.id, name: row.name, kind: row.kind, createdAt: Number(row.created_at) } : undefined;
    },
    async create(identity) {
      await db
        .insertInto('instance_info')
        .values({ singleton: 1, id: identity.id, name: identity.name, kind: identity.kind, created_at: identity.createdAt })
        .execute();
    },
  };
}

export function createSettingsStore(db: Kysely<Database>): SettingsStore {
  return {
    async all() {
      const rows = await db.selectFrom('settings').select(['key', 'value']).execute();
      return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
    },
    async put(key, value, at) {
      const text = JSON.stringify(value);
      await db
        .insertInto('settings')
        .values({ key, value: text, updated_at: at })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: text, updated_at: at }))
        .execute();
    },
  };
}

function toAgent(row: Selectable<AgentsTable>): AgentRecord {
  return { id: row.id, name: row.name, email: row.email, isAdministrator: Number(row.is_administrator) === 1, createdAt: Number(row.created_at) };
}

export function createAgentStore(db: Kysely<Database>): AgentStore {
  return {
    async find(id) {
      const row = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toAgent(row) : undefined;
    },
    async firstAdministrator() {
      const row = await db.selectFrom('agents').selectAll().where('is_administrator', '=', 1).orderBy('id').limit(1).executeTakeFirst();
      return row ? toAgent(row) : undefined;
    },
    async count() {
      const row = await db.selectFrom('agents').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async insert(agent) {
      await db
        .insertInto('agents')
        .values({ id: agent.id, name: agent.name, email: agent.email, is_administrator: agent.isAdministrator ? 1 : 0, created_at: agent.createdAt })
        .execute();
    },
  };
}

export function createTokenStore(db: Kysely<Database>): TokenStore {
  return {
    async findByHash(tokenHash) {
      const row = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row
        ? { id: row.id, agentId: row.agent_id, tokenHash: row.token_hash, label: row.label, createdAt: Number(row.created_at) }
        : undefined;
    },
    async insert(token) {
      await db
        .insertInto('api_tokens')
        .values({ id: token.id, agent_id: token.agentId, token_hash: token.tokenHash, label: token.label, created_at: token.createdAt })
        .execute();
    },
  };
}
