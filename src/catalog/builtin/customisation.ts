import { z } from 'zod';
import type { EntityTypeDefinition } from '../entity-type.js';
import { defineType, displayName, entityId, genericType, httpUrl } from '../define.js';
import { entityIds, itemId, refuseBadRegex, refuseDuplicates, sequence } from './fields.js';

const area = 'customisation';

const selectTypes = new Set(['single-select', 'multi-select']);

export const customFields = defineType({
  key: 'custom-fields',
  label: 'Custom fields',
  area,
  schema: z
    .strictObject({
      name: displayName().describe('Internal name of the field.'),
      label: displayName().describe('Label shown on screens.'),
      entity: z.enum(['ticket', 'customer', 'user', 'asset', 'agent']),
      fieldType: z.enum(['text', 'memo', 'number', 'date', 'datetime', 'boolean', 'single-select', 'multi-select']),
      required: z.boolean().default(false),
      options: z
        .array(z.strictObject({ id: itemId(), value: z.string().trim().min(1).max(500) }))
        .max(1000)
        .default([])
        .describe('Choices of a select field.'),
      validationRegex: z.string().max(1000).optional().describe('Regular expression that text values must match.'),
      sequence: sequence(),
    })
    .superRefine((field, ctx) => {
      refuseDuplicates(ctx, field.options, ['options'], 'id', 'option id');
      if (field.options.length > 0 && !selectTypes.has(field.fieldType)) {
        ctx.addIssue({ code: 'custom', message: 'only select fields have options', path: ['options'] });
      }
      refuseBadRegex(ctx, field.validationRegex, ['validationRegex']);
    }),
});

export const fieldGroups = defineType({
  key: 'field-groups',
  label: 'Field groups',
  area,
  schema: z.strictObject({
    name: displayName(),
    customFieldIds: entityIds().describe('Custom fields of the group, in order.'),
    sequence: sequence(),
  }),
  references: [{ path: 'customFieldIds[]', target: 'custom-fields' }],
});

export const customButtons = defineType({
  key: 'custom-buttons',
  label: 'Custom buttons',
  area,
  schema: z
    .strictObject({
      name: displayName(),
      label: displayName(),
      entity: z.enum(['ticket', 'customer', 'user', 'asset']),
      action: z.enum(['open-url', 'run-runbook']),
      url: httpUrl().optional().describe('Opened by an open-url button.'),
      runbookId: entityId().optional().describe('Run by a run-runbook button.'),
      visibleToRoleIds: entityIds().describe('Roles that see the button; empty means every role.'),
      sequence: sequence(),
    })
    .superRefine((button, ctx) => {
      if (button.action === 'open-url' && button.url === undefined) {
        ctx.addIssue({ code: 'custom', message: 'an open-url button needs a url', path: ['url'] });
      }
      if (button.action === 'run-runbook' && button.runbookId === undefined) {
        ctx.addIssue({ code: 'custom', message: 'a run-runbook button needs a runbookId', path: ['runbookId'] });
      }
    }),
  references: [
    { path: 'runbookId', target: 'runbooks' },
    { path: 'visibleToRoleIds[]', target: 'roles', thirdParty: true },
  ],
});

export const customisationTypes: EntityTypeDefinition[] = [
  customFields,
  fieldGroups,
  customButtons,
  genericType('custom-tabs', 'Custom tabs', area),
  genericType('custom-tables', 'Custom tables', area),
  genericType('custom-translations', 'Custom translations', area),
  genericType('lookups', 'Lookups', area),
];
