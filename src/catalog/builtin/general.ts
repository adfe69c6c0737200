import { z } from 'zod';
import type { EntityTypeDefinition } from '../entity-type.js';
import { defineType, genericType } from '../define.js';
import { description } from './fields.js';

const area = 'general';

export const globalSettings = defineType({
  key: 'global-settings',
  label: 'Global settings',
  area,
  description: 'Desk-wide settings, one entity per setting (unlike instance settings, these travel).',
  schema: z.strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9._-]{0,199}$/, 'must be a setting key: a letter, then letters, digits, ".", "_" or "-"')
      .describe('Setting key, e.g. tickets.coManagedCannotReassign.'),
    value: z.union([z.string().max(100_000), z.number(), z.boolean(), z.null()]),
    description: description(),
  }),
});

export const generalTypes: EntityTypeDefinition[] = [
  globalSettings,
  genericType('enabled-modules', 'Enabled modules', area),
  genericType('organisations', 'Organisations (multi-tenancy)', area),
  genericType('country-codes', 'Country/region codes', area),
];
