import { z } from 'zod';
import type { CustomerRecordFields, EntityTypeDefinition, RecordReferenceDeclaration, ReferenceDeclaration, TrackingRule } from './entity-type.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A reference to another entity by its global id. */
export const entityId = () => z.string().regex(ULID, 'must be an entity id (ULID)');

/** A display name: trimmed, 1–200 characters. */
export const displayName = () => z.string().trim().min(1).max(200);

/** A secret field: write a string to set it, `{ "set": true }` or omit it to keep it, null to clear it. */
export const secret = () => z.string().min(1).max(4096).describe('Secret: write-only; responses show { "set": true }.');

/** What a secret field holds while a body is validated, in place of `{ "set": true }` (keep the stored secret) and null (clear it). */
export const SECRET_KEEP = '\u0000shiplog:keep-secret';
export const SECRET_CLEAR = '\u0000shiplog:clear-secret';

/** An http(s) URL; `z.httpUrl()` would refuse localhost, which the demo pipeline uses. */
export const httpUrl = () => z.url({ protocol: /^https?$/ }).max(2000);

const anHttpUrl = httpUrl();

/** A secret that is an http(s) address, such as a chat incoming-webhook URL whose path carries its credential. */
export const secretUrl = () =>
  z
    .string()
    .min(1)
    .max(2000)
    .refine((value) => value === SECRET_KEEP || value === SECRET_CLEAR || anHttpUrl.safeParse(value).success, 'must be an http or https URL')
    .describe('Secret: write-only; responses show { "set": true }.');

/** Names of the instances where the entity is active; empty means "every instance". */
export const enabledInstances = () =>
  z
    .array(z.string().trim().min(1).max(100))
    .max(50)
    .default([])
    .describe('Instance names where this is enabled; empty means every instance.');

/** Free-form properties for types whose fields Shiplog does not model. */
export const properties = () =>
  z.record(z.string().max(100), z.unknown()).default({}).describe('Free-form properties.');

export interface TypeOptions {
  key: string;
  label: string;
  area: string;
  schema: z.ZodObject;
  tracking?: TrackingRule;
  references?: ReferenceDeclaration[];
  sensitive?: string[];
  secretRules?: EntityTypeDefinition['secretRules'];
  instanceScoped?: string[];
  instanceLocal?: Record<string, unknown>;
  entityLocal?: Record<string, Record<string, unknown>>;
  records?: RecordReferenceDeclaration[];
  customerRecord?: CustomerRecordFields;
  accessManagement?: boolean;
  nameField?: string;
  description?: string;
}

export function defineType(options: TypeOptions): EntityTypeDefinition {
  return {
    key: options.key,
    label: options.label,
    area: options.area,
    schema: options.schema,
    tracking: options.tracking ?? { kind: 'tracked' },
    references: options.references ?? [],
    sensitive: options.sensitive ?? [],
    secretRules: options.secretRules ?? (() => ({})),
    instanceScoped: options.instanceScoped ?? [],
    instanceLocal: options.instanceLocal ?? {},
    entityLocal: options.entityLocal ?? {},
    records: options.records ?? [],
    accessManagement: options.accessManagement ?? false,
    nameField: options.nameField ?? 'name',
    ...(options.customerRecord ? { customerRecord: options.customerRecord } : {}),
    ...(options.description ? { description: options.description } : {}),
  };
}

/** A type known by name and free-form properties only. */
export function genericType(key: string, label: string, area: string, tracking?: TrackingRule): EntityTypeDefinition {
  return defineType({
    key,
    label,
    area,
    tracking: tracking ?? { kind: 'tracked' },
    schema: z.strictObject({
      name: displayName(),
      description: z.string().max(4000).optional(),
      properties: properties(),
    }),
  });
}

/** A type never tracked and never synced: stored on this instance only. */
export function localType(key: string, label: string, area: string): EntityTypeDefinition {
  return genericType(key, label, area, { kind: 'local' });
}
