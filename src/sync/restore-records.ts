import { customersNamedBy } from '../access/agent-customers.js';
import type { Catalog } from '../catalog/catalog.js';
import { isInstanceLocalPath, isTrackableType, type EntityTypeDefinition, type RecordTarget } from '../catalog/entity-type.js';
import { mapRecordIds, recordReferencesIn, type RecordReferenceHit } from '../catalog/record-references.js';
import { canonicalJson, sha256Hex } from '../shared/canonical-json.js';
import type { RecordKind, RecordSummary } from '../shared/records.js';
import type { AgentRecord, CustomerRecord, DeskUserRecord, EntityRecord, RecordLink, Stores } from '../store/ports.js';
import type { PeerConnection, PeerRecordKinds } from './peer-client.js';

/** A reference a restore cannot keep: what names it (a tracked entity copied from production, or an agent here), where, and the record. */
export interface RestoreRecordReference {
  in: { type: string; id: string; name: string };
  path: string;
  record: { kind: RecordKind; id: string | null; name: string | null; thirdPartyId: string | null };
}

/** What a restore does with the records each instance keeps for itself (customers, users, agents). */
export interface RecordsRestorePlan {
  /** Production's customers and users, copied with their ids and third-party ids. */
  copied: { customers: number; users: number };
  /** This instance's customers and users, which production's replace. */
  replaced: { customers: number; users: number };
  /** Production's agents that its configuration names, each resolved to an agent here (same id, else third-party id). */
  agentsResolved: number;
  /** References that would name nothing here after the restore: a confirmed restore is refused while there is one. */
  unresolved: RestoreRecordReference[];
  /** This instance's own holders (a user role's users) that are not among production's users: they stop holding it. */
  dropped: RestoreRecordReference[];
}

/** Production's records as a restore copies them. */
export interface ProductionRecords {
  customers: CustomerRecord[];
  users: DeskUserRecord[];
  agents: RecordSummary[];
  links: RecordLink[];
}

/** How this instance's records and configuration come out of a restore from production's records. */
export interface RecordsRestore {
  plan: RecordsRestorePlan;
  /** A digest of production's records and of what this instance resolved them to: part of the restore's fingerprint. */
  digest: string;
  /** A body copied from production, with this instance's instance-local fields already in it, as this instance stores it. */
  bodyOf(def: EntityTypeDefinition, body: Record<string, unknown>): Record<string, unknown>;
  /** Replaces this instance's customers, users and record links with production's, and points its agents at them. */
  apply(stores: Stores): Promise<void>;
}

const PAGE = 2_000;

/** The tracked types whose bodies name records: a restore reads these of production to plan its records. */
export function typesNamingRecords(catalog: Catalog): string[] {
  return catalog
    .list()
    .filter((def) => isTrackableType(def) && def.records.length > 0)
    .map((def) => def.key);
}

/** Production's customers, users, agents (described) and record links, every page of each. */
export async function fetchProductionRecords(conn: PeerConnection): Promise<ProductionRecords> {
  const all = async <K extends RecordKind>(kind: K): Promise<PeerRecordKinds[K][]> => {
    const out: PeerRecordKinds[K][] = [];
    for (let afterId: string | null = null; ; ) {
      const page: PeerRecordKinds[K][] = await conn.records(kind, afterId, PAGE);
      out.push(...page);
      if (page.length < PAGE) return out;
      afterId = page[page.length - 1]!.id;
    }
  };
  const links: RecordLink[] = [];
  for (const kind of ['customer', 'user', 'agent'] as const) {
    for (let after: string | null = null; ; ) {
      const page = await conn.recordLinks(kind, after, PAGE);
      links.push(...page);
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.foreignId;
    }
  }
  return { customers: await all('customer'), users: await all('user'), agents: await all('agent'), links };
}

const byThirdParty = <R extends { thirdPartyId: string | null }>(records: readonly R[]) =>
  new Map(records.flatMap((r): [string, R][] => (r.thirdPartyId === null ? [] : [[r.thirdPartyId, r]])));

const contradicts = (a: { thirdPartyId: string | null }, b: { thirdPartyId: string | null }) => a.thirdPartyId !== null && b.thirdPartyId !== null && a.thirdPartyId !== b.thirdPartyId;

/**
 * Plans what a restore does with records, on this instance's state (`stores`) and production's records and entities
 * (those of typesNamingRecords). Production's customers and users replace this instance's, ids and third-party ids
 * kept, so what production's configuration names by them exists here. Agents stay this instance's own: an agent
 * production's configuration names resolves to the agent here with its id, else with its third-party id; this
 * instance's agents name production's customer with the id, else the third-party id, of the customer they named.
 * Anything that resolves to nothing is listed as unresolved; a user role's own holders production lacks are dropped.
 */
export async function planRecords(stores: Stores, catalog: Catalog, production: ProductionRecords, entities: readonly EntityRecord[]): Promise<RecordsRestore> {
  const customers = new Map(production.customers.map((c) => [c.id, c]));
  const users = new Map(production.users.map((u) => [u.id, u]));
  const agents = new Map(production.agents.map((a) => [a.id, a]));
  const customersByThirdParty = byThirdParty(production.customers);
  const usersByThirdParty = byThirdParty(production.users);

  const localAgents = await stores.agents.list({ limit: Number.MAX_SAFE_INTEGER });
  const localAgentById = new Map(localAgents.map((a) => [a.id, a]));
  const localAgentByThirdParty = byThirdParty(localAgents);
  const agentHere = (id: string): string | undefined => {
    const described = agents.get(id);
    if (!described) return undefined;
    const same = localAgentById.get(id);
    if (same && !contradicts(same, described)) return same.id;
    return described.thirdPartyId === null ? undefined : localAgentByThirdParty.get(described.thirdPartyId)?.id;
  };
  // A record of this instance that production's of the same id, else of the same third-party id, replaces.
  const replacement = <R extends { id: string; thirdPartyId: string | null }>(own: RecordSummary | undefined, id: string, theirs: Map<string, R>, theirsByThirdParty: Map<string, R>) => {
    const same = theirs.get(id);
    if (same && !(own && contradicts(own, same))) return same.id;
    return own?.thirdPartyId ? theirsByThirdParty.get(own.thirdPartyId)?.id : undefined;
  };

  const unresolved: RestoreRecordReference[] = [];
  const agentIds = new Map<string, string>();
  const missing = (where: RestoreRecordReference['in'], hit: Pick<RecordReferenceHit, 'path' | 'target' | 'by' | 'value'>) => {
    const kind: RecordKind = hit.target === 'agent-or-user' ? 'agent' : hit.target;
    const described = hit.by === 'id' ? (agents.get(hit.value) ?? null) : null;
    unresolved.push({
      in: where,
      path: hit.path,
      record: {
        kind,
        id: hit.by === 'id' ? hit.value : null,
        name: described?.name ?? null,
        thirdPartyId: hit.by === 'third-party-id' ? hit.value : (described?.thirdPartyId ?? null),
      },
    });
  };
  const resolves = (hit: RecordReferenceHit): boolean => {
    const { target, by, value } = hit;
    if (by === 'third-party-id') {
      if (target === 'customer') return customersByThirdParty.has(value);
      if (target === 'user') return usersByThirdParty.has(value);
      return (target === 'agent-or-user' && usersByThirdParty.has(value)) || localAgentByThirdParty.has(value);
    }
    if (target === 'customer') return customers.has(value);
    if (target === 'user' || (target === 'agent-or-user' && users.has(value))) return users.has(value);
    const here = agentHere(value);
    if (here !== undefined) agentIds.set(value, here);
    return here !== undefined;
  };
  for (const entity of entities) {
    const def = catalog.find(entity.type);
    if (!def) continue;
    for (const hit of recordReferencesIn(def, entity.body, 'shared')) {
      if (!resolves(hit)) missing({ type: entity.type, id: entity.id, name: entity.name }, hit);
    }
  }

  // This instance's agents name its customers, which production's replace.
  const named = localAgents.flatMap((agent) => customersNamedBy(agent).map((field) => ({ agent, ...field })));
  const ownCustomers = new Map((await stores.records.byIds('customer', named.map((n) => n.id))).map((c) => [c.id, c]));
  const customerIds = new Map<string, string>();
  for (const { agent, path, id } of named) {
    const own = ownCustomers.get(id);
    const theirs = replacement(own, id, customers, customersByThirdParty);
    if (theirs !== undefined) customerIds.set(id, theirs);
    else unresolved.push({ in: { type: 'agent', id: agent.id, name: agent.name }, path, record: { kind: 'customer', id, name: own?.name ?? null, thirdPartyId: own?.thirdPartyId ?? null } });
  }
  const agentUpdates = localAgents.flatMap((agent): AgentRecord[] => {
    if (customersNamedBy(agent).length === 0) return [];
    const to = (id: string | null) => (id === null ? null : (customerIds.get(id) ?? id));
    const next: AgentRecord = {
      ...agent,
      coManagedCustomerId: to(agent.coManagedCustomerId),
      customerGroupOverrideId: to(agent.customerGroupOverrideId),
      clientRestrictions: { ...agent.clientRestrictions, customerIds: agent.clientRestrictions.customerIds.map((id) => to(id)!) },
    };
    return canonicalJson(next) === canonicalJson(agent) ? [] : [next];
  });

  // Users this instance's own fields name (a user role's holders) become production's users, or stop holding it.
  const localUserFields = (def: EntityTypeDefinition) =>
    def.records.filter((r) => isInstanceLocalPath(def, r.path) && r.target === 'user' && r.by === 'id' && r.path.endsWith('[]')).map((r) => r.path.slice(0, -2));
  const dropped: RestoreRecordReference[] = [];
  const userIds = new Map<string, string | null>();
  const copiedIds = new Set(entities.map((e) => e.id));
  for (const def of catalog.list().filter((d) => localUserFields(d).length > 0)) {
    for (const entity of await stores.entities.listAll(def.key)) {
      if (!copiedIds.has(entity.id)) continue;
      for (const field of localUserFields(def)) {
        const held = Array.isArray(entity.body[field]) ? (entity.body[field] as unknown[]).filter((v): v is string => typeof v === 'string') : [];
        const own = new Map((await stores.records.byIds('user', held)).map((u) => [u.id, u]));
        held.forEach((id, i) => {
          const theirs = replacement(own.get(id), id, users, usersByThirdParty) ?? null;
          userIds.set(id, theirs);
          if (theirs === null) {
            const user = own.get(id);
            dropped.push({ in: { type: def.key, id: entity.id, name: entity.name }, path: `${field}[${i}]`, record: { kind: 'user', id, name: user?.name ?? null, thirdPartyId: user?.thirdPartyId ?? null } });
          }
        });
      }
    }
  }

  const [ownCustomerCount, ownUserCount] = [
    (await stores.desk.listCustomers({ limit: Number.MAX_SAFE_INTEGER })).length,
    (await stores.desk.listUsers({ limit: Number.MAX_SAFE_INTEGER })).length,
  ];
  const plan: RecordsRestorePlan = {
    copied: { customers: production.customers.length, users: production.users.length },
    replaced: { customers: ownCustomerCount, users: ownUserCount },
    agentsResolved: agentIds.size,
    unresolved,
    dropped,
  };

  // Production's links name its records: customers and users keep their ids here, agents resolve to this instance's.
  const links: RecordLink[] = [];
  for (const link of production.links) {
    const local = link.kind === 'agent' ? (agentIds.get(link.localId) ?? agentHere(link.localId)) : link.localId;
    if (local !== undefined) links.push({ ...link, localId: local });
  }
  for (const [theirs, here] of agentIds) if (theirs !== here) links.push({ kind: 'agent', foreignId: theirs, localId: here });

  const agentOf = (id: string, target: RecordTarget) =>
    target === 'agent' || (target === 'agent-or-user' && !users.has(id)) ? (agentIds.get(id) ?? id) : id;
  return {
    plan,
    digest: sha256Hex(canonicalJson({ production, plan, agentIds: [...agentIds].sort(), agentUpdates, links })),
    bodyOf(def, body) {
      let out = mapRecordIds(def, body, agentOf);
      for (const field of localUserFields(def)) {
        const held = out[field];
        if (!Array.isArray(held)) continue;
        out = { ...out, [field]: held.flatMap((id) => (typeof id === 'string' && userIds.has(id) ? (userIds.get(id) === null ? [] : [userIds.get(id)!]) : [id])) };
      }
      return out;
    },
    async apply(target) {
      await target.records.clearLinks();
      for (const customer of production.customers) await target.desk.insertCustomer(customer);
      for (const user of production.users) await target.desk.insertUser(user);
      for (const agent of agentUpdates) await target.agents.update(agent);
      await target.records.saveLinks(links);
    },
  };
}
