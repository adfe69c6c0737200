import { sql, type Kysely } from 'kysely';

// Tracked entities' references to records each instance keeps for itself (customers, users, agents) are kept with
// their entity references, so that a record configuration still names is not deleted; those of existing entities are
// added here.

/** The record references of the types that had them when this migration was written, as `entity_refs` keys them. */
const declared: Record<string, { path: string; key: string }[]> = {
  'ticket-rules': [
    { path: 'criteria[].customerIds[]', key: 'record:customer' },
    { path: 'outcomes[].agentId', key: 'record:agent' },
    { path: 'outcomes[].agentThirdPartyId', key: 'third-party:agent' },
  ],
  roles: [
    { path: 'customerRestrictions.customerIds[]', key: 'record:customer' },
    { path: 'agentIds[]', key: 'record:agent' },
    { path: 'agentThirdPartyIds[]', key: 'third-party:agent' },
  ],
  assets: [
    { path: 'customerId', key: 'record:customer' },
    { path: 'userIds[]', key: 'record:user' },
    { path: 'userThirdPartyIds[]', key: 'third-party:user' },
    { path: 'businessOwnerId', key: 'record:agent-or-user' },
    { path: 'businessOwnerThirdPartyId', key: 'third-party:agent-or-user' },
    { path: 'technicalOwnerId', key: 'record:agent-or-user' },
    { path: 'technicalOwnerThirdPartyId', key: 'third-party:agent-or-user' },
  ],
  'approval-groups': [
    { path: 'memberAgentIds[]', key: 'record:agent' },
    { path: 'memberThirdPartyIds[]', key: 'third-party:agent' },
  ],
  'approval-processes': [
    { path: 'steps[].agentIds[]', key: 'record:agent' },
    { path: 'steps[].agentThirdPartyIds[]', key: 'third-party:agent' },
  ],
  'user-roles': [
    { path: 'userIds[]', key: 'record:user' },
    { path: 'userThirdPartyIds[]', key: 'third-party:user' },
  ],
};

/** The strings at a catalog path (`a[].b`), each with its location (`a[0].b`); written out here, as migrations never change. */
function stringsAt(node: unknown, segments: string[], location: string, out: { value: string; location: string }[]): void {
  if (segments.length === 0) {
    if (typeof node === 'string') out.push({ value: node, location });
    return;
  }
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
  const [segment, ...rest] = segments as [string, ...string[]];
  const each = segment.endsWith('[]');
  const key = each ? segment.slice(0, -2) : segment;
  const child = (node as Record<string, unknown>)[key];
  const here = location ? `${location}.${key}` : key;
  if (!each) return stringsAt(child, rest, here, out);
  if (Array.isArray(child)) child.forEach((item, i) => stringsAt(item, rest, `${here}[${i}]`, out));
}

interface RefRow {
  from_id: string;
  to_id: string;
  from_type: string;
  path: string;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  const typed = db as unknown as Kysely<{ entities: { id: string; type: string; body: string }; entity_refs: RefRow }>;
  const entities = await typed.selectFrom('entities').select(['id', 'type', 'body']).where('type', 'in', Object.keys(declared)).execute();
  const rows: RefRow[] = [];
  for (const entity of entities) {
    const body = JSON.parse(entity.body) as unknown;
    for (const { path, key } of declared[entity.type]!) {
      const hits: { value: string; location: string }[] = [];
      stringsAt(body, path.split('.'), '', hits);
      for (const hit of hits) rows.push({ from_id: entity.id, from_type: entity.type, to_id: `${key}:${hit.value}`, path: hit.location });
    }
  }
  for (let i = 0; i < rows.length; i += 200) await typed.insertInto('entity_refs').values(rows.slice(i, i + 200)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from entity_refs where to_id like 'record:%' or to_id like 'third-party:%'`.execute(db);
}
