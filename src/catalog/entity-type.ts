import type { z } from 'zod';
import type { RecordKind } from '../shared/records.js';
import type { SettingKey, Settings } from '../shared/settings.js';

/** When writes of a type are captured as changes (and so travel between instances). */
export type TrackingRule =
  | { kind: 'tracked' }
  | {
      kind: 'tracked-when';
      setting: SettingKey;
      /** Extra condition on the entity itself (e.g. an asset marked as a service); absent means every entity. */
      appliesTo?: (body: Record<string, unknown>) => boolean;
      description: string;
    }
  | { kind: 'local' };

/** Where a body of a customer's record names its customer, its users, and people who are agents or its users. */
export interface CustomerRecordFields {
  /** Field holding the customer's record id; a body without it belongs to no customer. */
  customer: string;
  /** Field paths holding record ids of the customer's users. */
  users: string[];
  /** Field paths holding the record id of an agent or of one of the customer's users. */
  people: string[];
}

/** A field that holds the id of another entity. */
export interface ReferenceDeclaration {
  /** Field path, `[]` marking arrays: `outcomes[].teamId`. */
  path: string;
  /** Catalog key of the referenced type. */
  target: string;
  /** Whether the reference may link by third-party relational id when that setting is on. */
  thirdParty?: boolean;
}

/** What a record reference may name: an asset's owner is an agent or a user. */
export type RecordTarget = RecordKind | 'agent-or-user';

/**
 * A field that names a record each instance keeps for itself (a customer, a user of a customer, an agent). Records have
 * ids of their own on each instance, so such a field is never taken as it arrived: see record-references.ts.
 */
export interface RecordReferenceDeclaration {
  /** Field path, `[]` marking arrays: `criteria[].customerIds[]`. */
  path: string;
  target: RecordTarget;
  /**
   * `id`: the record's id on the instance that wrote the body, which a receiver resolves to its own record (by global
   * id, else by third-party id) and stores as that record's id. `third-party-id`: the record's third-party id itself,
   * the same on every instance, naming the record that holds it here.
   */
  by: 'id' | 'third-party-id';
}

export interface SecretRules {
  required?: string[];
  /** Secret fields that do not apply to this body, with why (`applies to the webhook channel only`). */
  notApplicable?: { path: string; why: string }[];
}

/** A registry entry: everything shared code needs to know about a configuration type. */
export interface EntityTypeDefinition {
  /** URL key, kebab-case plural: `ticket-types`. */
  key: string;
  label: string;
  /** Grouping in the console and the catalog listing. */
  area: string;
  tracking: TrackingRule;
  /** Body schema (a strict object: unknown fields are rejected). Sensitive fields are plain strings here. */
  schema: z.ZodObject;
  references: ReferenceDeclaration[];
  /** Field paths whose values are secrets: encrypted at rest, never returned. */
  sensitive: string[];
  /**
   * Which secret fields a body must have set, and which it must not hold, given its other fields (a chat
   * notification needs its address; an email one has none). Checked on the body as it would be stored, after
   * secrets left out of a replacement have kept their stored values.
   */
  secretRules: (body: Record<string, unknown>) => SecretRules;
  /** Field paths that name the instances where the entity is active (`enabledInstances`). */
  instanceScoped: string[];
  /**
   * Top-level fields that belong to each instance, such as the agents holding a role (agents are local records):
   * a change arriving from another instance leaves the receiver's values in place, and an entity first arriving
   * gets the value given here.
   */
  instanceLocal: Record<string, unknown>;
  /**
   * Further instance-local fields of single entities, by entity id: the built-in Administrator role's holders belong
   * to each instance, whoever holds it elsewhere.
   */
  entityLocal: Record<string, Record<string, unknown>>;
  /** Every field that names a record each instance keeps for itself (customers, users, agents). */
  records: RecordReferenceDeclaration[];
  /**
   * The customer whose record an entity is (an asset): a caller confined to other customers sees neither the entity
   * nor its changes, and the users and owners it names must be that customer's.
   */
  customerRecord?: CustomerRecordFields;
  /**
   * Writing an entity of this type is access management: it decides who may sign in here, and as whom (single
   * sign-on connections), so only an administrator of the instance, acting itself, writes it, on every path.
   */
  accessManagement: boolean;
  /** Field holding the display name. */
  nameField: string;
  description?: string;
}

/** The instance-local fields of one entity, with their initial values: its type's, and its own where it has more. */
export function localFieldsOf(def: EntityTypeDefinition, entityId: string): Record<string, unknown> {
  const own = def.entityLocal[entityId];
  return own ? { ...def.instanceLocal, ...own } : def.instanceLocal;
}

// Asked for every change of a batch; a type's definition does not change once made.
const localFieldsOfType = new WeakMap<EntityTypeDefinition, boolean>();

/** Whether any entity of the type has instance-local fields. */
export function hasLocalFields(def: EntityTypeDefinition): boolean {
  let has = localFieldsOfType.get(def);
  if (has === undefined) {
    has = Object.keys(def.instanceLocal).length > 0 || Object.keys(def.entityLocal).length > 0;
    localFieldsOfType.set(def, has);
  }
  return has;
}

/** `incoming` with the instance-local fields of `current` (or their initial values when there is no current body). */
export function withInstanceLocal(
  def: EntityTypeDefinition,
  entityId: string,
  incoming: Record<string, unknown> | null,
  current: Record<string, unknown> | null,
): Record<string, unknown> | null {
  if (incoming === null || !hasLocalFields(def)) return incoming;
  const local = localFieldsOf(def, entityId);
  const keys = Object.keys(local);
  if (keys.length === 0) return incoming;
  const merged = { ...incoming };
  for (const key of keys) merged[key] = current && key in current ? current[key] : structuredClone(local[key]);
  return merged;
}

/** Whether `path` lies in one of the type's instance-local fields (those never travel). */
export function isInstanceLocalPath(def: EntityTypeDefinition, path: string): boolean {
  const top = path.split('.')[0]!.replace(/\[\]$/, '');
  return Object.hasOwn(def.instanceLocal, top);
}

/** `body` without its instance-local fields: what two instances compare. */
export function withoutInstanceLocal(def: EntityTypeDefinition, entityId: string, body: Record<string, unknown>): Record<string, unknown> {
  if (!hasLocalFields(def)) return body;
  const keys = Object.keys(localFieldsOf(def, entityId));
  if (keys.length === 0) return body;
  const shared = { ...body };
  for (const key of keys) delete shared[key];
  return shared;
}

export interface TrackingContext {
  settings: Settings;
}

/**
 * Whether a write from `before` to `after` is captured as a change under these settings.
 * A body-dependent rule counts when either side qualifies, so leaving the tracked set is recorded too.
 */
export function isTrackedWrite(
  def: EntityTypeDefinition,
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
  ctx: TrackingContext,
): boolean {
  if (!ctx.settings.configTracking) return false;
  const rule = def.tracking;
  if (rule.kind === 'tracked') return true;
  if (rule.kind === 'local') return false;
  if (!ctx.settings[rule.setting]) return false;
  const applies = rule.appliesTo;
  if (!applies) return true;
  return (before !== null && applies(before)) || (after !== null && applies(after));
}

/** Whether the type can ever be tracked (used by the catalog listing and sync). */
export function isTrackableType(def: EntityTypeDefinition): boolean {
  return def.tracking.kind !== 'local';
}
