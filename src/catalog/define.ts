import { z } from 'zod';
import type { EntityTypeDefinition, ReferenceDeclaration, TrackingRule } from './entity-type.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A reference to another entity by its global id. */
export const entityId = () => z.string().regex(ULID, 'must be an entity id (ULID)');

/** A display name: trimmed, 1–200 characters. */
export const displayName = () => z.string().trim().min(1).max(200);

/** A secret field: write a string to set it, `{ "set": true }` or omit it to keep it, null to clear it. */
export const secret = () => z.string().min(1).max(4096).describe('Secret: write-only; responses show { "set": true }.');

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
  instanceScoped?: string[];
  instanceLocal?: Record<string, unknown>;
  agentLinks?: string[];
  userLinks?: string[];
  personLinks?: string[];
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
    instanceScoped: options.instanceScoped ?? [],
    instanceLocal: options.instanceLocal ?? {},
    agentLinks: options.agentLinks ?? [],
    userLinks: options.userLinks ?? [],
    personLinks: options.personLinks ?? [],
    nameField: options.nameField ?? 'name',
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
