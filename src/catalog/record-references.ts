import { mapStringsAtPath, stringsAtPath } from '../shared/field-path.js';
import type { RecordKind, RecordSummary } from '../shared/records.js';
import { isInstanceLocalPath, type EntityTypeDefinition, type RecordReferenceDeclaration, type RecordTarget } from './entity-type.js';

/** One record reference found in a body. */
export interface RecordReferenceHit {
  /** Where it is: `criteria[0].customerIds[1]`. */
  path: string;
  target: RecordTarget;
  by: RecordReferenceDeclaration['by'];
  value: string;
}

/** The kinds of record a reference may name. */
export function kindsOf(target: RecordTarget): RecordKind[] {
  return target === 'agent-or-user' ? ['agent', 'user'] : [target];
}

/** Whether a record of `kind` may be what a reference to `target` names. */
export function mayName(target: RecordTarget, kind: RecordKind): boolean {
  return target === kind || (target === 'agent-or-user' && (kind === 'agent' || kind === 'user'));
}

/** Which record references to find: `shared` leaves out those in instance-local fields (which never travel), `travelling` also those by third-party id. */
export type RecordReferenceScope = 'all' | 'shared' | 'travelling';

function declarationsIn(def: EntityTypeDefinition, scope: RecordReferenceScope): RecordReferenceDeclaration[] {
  if (scope === 'all') return def.records;
  return def.records.filter((r) => !isInstanceLocalPath(def, r.path) && (scope === 'shared' || r.by === 'id'));
}

/** The declarations whose values travel by id: those by id outside the type's instance-local fields. */
export function travellingIdReferences(def: EntityTypeDefinition): RecordReferenceDeclaration[] {
  return declarationsIn(def, 'travelling');
}

/** The record references a body holds, in the given scope. */
export function recordReferencesIn(def: EntityTypeDefinition, body: Record<string, unknown>, scope: RecordReferenceScope = 'all'): RecordReferenceHit[] {
  const found: RecordReferenceHit[] = [];
  for (const declaration of declarationsIn(def, scope)) {
    for (const hit of stringsAtPath(body, declaration.path)) found.push({ path: hit.location, target: declaration.target, by: declaration.by, value: hit.value });
  }
  return found;
}

/** `body` with each record id that travels replaced by `map` of it: a copy where anything changes, else `body` itself. */
export function mapRecordIds<T extends Record<string, unknown> | null>(def: EntityTypeDefinition, body: T, map: (id: string, target: RecordTarget) => string): T {
  if (body === null) return body;
  let out = body;
  for (const declaration of travellingIdReferences(def)) out = mapStringsAtPath(out, declaration.path, (id) => map(id, declaration.target));
  return out;
}

/**
 * The key under which an entity's reference to a record is kept with its entity references (`entity_refs`), so that a
 * record configuration still names is not deleted: `record:<target>:<id>` or `third-party:<target>:<third-party id>`.
 */
export function recordReferenceKey(hit: Pick<RecordReferenceHit, 'target' | 'by' | 'value'>): string {
  return `${hit.by === 'id' ? 'record' : 'third-party'}:${hit.target}:${hit.value}`;
}

/** Every key under which a reference to `record` may be kept (see recordReferenceKey); with `by`, only those naming it so. */
export function keysNaming(record: Pick<RecordSummary, 'kind' | 'id' | 'thirdPartyId'>, by?: RecordReferenceDeclaration['by']): string[] {
  const targets: RecordTarget[] = record.kind === 'customer' ? ['customer'] : [record.kind, 'agent-or-user'];
  return targets.flatMap((target) => [
    ...(by === 'third-party-id' ? [] : [recordReferenceKey({ target, by: 'id', value: record.id })]),
    ...(record.thirdPartyId === null || by === 'id' ? [] : [recordReferenceKey({ target, by: 'third-party-id', value: record.thirdPartyId })]),
  ]);
}
