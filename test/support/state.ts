import { createHash } from 'node:crypto';
import type { Database } from '../../src/store/schema.js';
import type { TestDatabase } from './databases.js';

/**
 * What an instance holds, table by table: entities and their references, the change log's head, settings, agents and
 * their tokens, API applications and their access tokens, console sessions, single sign-on attempts, peers and
 * downstream instances, and the desk's records. Left out: the audit log and throttle counts (a refusal may record
 * itself there), idempotency records, and the reconciliation summary (a cache that reads fold).
 */
const TABLES = [
  'settings',
  'agents',
  'api_tokens',
  'applications',
  'access_tokens',
  'sessions',
  'sso_attempts',
  'entities',
  'entity_refs',
  'change_log_head',
  'peers',
  'downstream_instances',
  'customers',
  'desk_users',
  'tickets',
  'ticket_actions',
  'ticket_lists',
  'inbound_mail',
  'webhook_deliveries',
] as const satisfies readonly (keyof Database)[];

/** A digest of an instance's state: a request that was refused must leave it exactly as it was. */
export async function stateFingerprint(database: TestDatabase): Promise<string> {
  const { db } = database.dialect;
  // Read while nothing else writes (the caller waits for its request), so the tables need no common snapshot.
  const tables = await Promise.all(TABLES.map((table) => db.selectFrom(table).selectAll().execute()));
  const hash = createHash('sha256');
  tables.forEach((rows, i) => {
    const lines = rows.map((row) => JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value)));
    hash.update(`${TABLES[i]}\n${lines.sort().join('\n')}\n`);
  });
  return hash.digest('hex');
}
