import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { InstanceStore, SettingsStore } from '../ports.js';
import { prepared } from './prepared.js';

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

// Read by every write (tracking and lock settings); compiled once.
const allSettings = prepared((db) => db.selectFrom('settings').select(['key', 'value']));

export function createSettingsStore(db: Kysely<Database>): SettingsStore {
  return {
    async all() {
      const { rows } = await allSettings(db);
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

