import type { z } from 'zod';
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

/** A field that holds the id of another entity. */
export interface ReferenceDeclaration {
  /** Field path, `[]` marking arrays: `outcomes[].teamId`. */
  path: string;
  /** Catalog key of the referenced type. */
  target: string;
  /** Whether the reference may link by third-party relational id when that setting is on. */
  thirdParty?: boolean;
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
  /** Field paths that name the instances where the entity is active (`enabledInstances`). */
  instanceScoped: string[];
  /** Field holding the display name. */
  nameField: string;
  description?: string;
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
