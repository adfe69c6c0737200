import { z } from 'zod';
import type { EntityTypeDefinition } from '../entity-type.js';
import { defineType, displayName, entityId, genericType } from '../define.js';
import { description, entityIds, itemId, recordId, recordIds, refuseDuplicates, sequence, thirdPartyId, thirdPartyIds } from './fields.js';

const area = 'assets';

export const assets = defineType({
  key: 'assets',
  label: 'Assets (services and business applications)',
  area,
  tracking: {
    kind: 'tracked-when',
    setting: 'trackServices',
    appliesTo: (body) => body.serviceClass === 'service' || body.serviceClass === 'business-application',
    description:
      'Tracked when config change tracking for services is enabled, for assets marked as a service or business application.',
  },
  description: 'Assets; only those marked as services or business applications are configuration.',
  schema: z.strictObject({
    name: displayName(),
    assetTypeId: entityId(),
    serviceClass: z
      .enum(['none', 'service', 'business-application'])
      .default('none')
      .describe('Services and business applications are change-tracked when the services setting is on.'),
    customerId: recordId().optional().describe('Customer record id.'),
    fields: z
      .record(z.string().max(100), z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]))
      .default({})
      .describe('Values of asset fields, by field.'),
    userIds: recordIds().describe('User record ids linked to the asset.'),
    userThirdPartyIds: thirdPartyIds(1000).describe('Third-party ids of the users linked to the asset, for linking by third-party id.'),
    businessOwnerId: recordId().optional().describe('Agent or user record id.'),
    businessOwnerThirdPartyId: thirdPartyId().optional().describe('Third-party id of the business owner (an agent or a user).'),
    technicalOwnerId: recordId().optional().describe('Agent or user record id.'),
    technicalOwnerThirdPartyId: thirdPartyId().optional().describe('Third-party id of the technical owner (an agent or a user).'),
  }),
  references: [{ path: 'assetTypeId', target: 'asset-types' }],
  records: [
    { path: 'customerId', target: 'customer', by: 'id' },
    { path: 'userIds[]', target: 'user', by: 'id' },
    { path: 'userThirdPartyIds[]', target: 'user', by: 'third-party-id' },
    { path: 'businessOwnerId', target: 'agent-or-user', by: 'id' },
    { path: 'businessOwnerThirdPartyId', target: 'agent-or-user', by: 'third-party-id' },
    { path: 'technicalOwnerId', target: 'agent-or-user', by: 'id' },
    { path: 'technicalOwnerThirdPartyId', target: 'agent-or-user', by: 'third-party-id' },
  ],
  customerRecord: { customer: 'customerId', users: ['userIds[]'], people: ['businessOwnerId', 'technicalOwnerId'] },
});

export const assetTypes = defineType({
  key: 'asset-types',
  label: 'Asset types',
  area,
  schema: z.strictObject({
    name: displayName(),
    description: description(),
    assetGroupId: entityId().optional(),
    fieldIds: entityIds().describe('Asset fields shown on assets of this type, in order.'),
  }),
  references: [
    { path: 'assetGroupId', target: 'asset-groups' },
    { path: 'fieldIds[]', target: 'asset-fields' },
  ],
});

export const assetGroups = defineType({
  key: 'asset-groups',
  label: 'Asset groups',
  area,
  schema: z.strictObject({
    name: displayName(),
    description: description(),
    parentId: entityId().optional(),
  }),
  references: [{ path: 'parentId', target: 'asset-groups' }],
});

const selectTypes = new Set(['single-select', 'multi-select']);

export const assetFields = defineType({
  key: 'asset-fields',
  label: 'Asset fields',
  area,
  schema: z
    .strictObject({
      name: displayName(),
      fieldType: z.enum(['text', 'memo', 'number', 'date', 'boolean', 'single-select', 'multi-select', 'ip-address']),
      required: z.boolean().default(false),
      options: z
        .array(z.strictObject({ id: itemId(), value: z.string().trim().min(1).max(500) }))
        .max(1000)
        .default([])
        .describe('Choices of a select field.'),
      sequence: sequence(),
    })
    .superRefine((field, ctx) => {
      refuseDuplicates(ctx, field.options, ['options'], 'id', 'option id');
      if (field.options.length > 0 && !selectTypes.has(field.fieldType)) {
        ctx.addIssue({ code: 'custom', message: 'only select fields have options', path: ['options'] });
      }
    }),
});

export const services = defineType({
  key: 'services',
  label: 'Services',
  area,
  schema: z.strictObject({
    name: displayName(),
    description: description(),
    serviceCategoryId: entityId().optional(),
    ownerTeamId: entityId().optional(),
    status: z.enum(['operational', 'degraded', 'outage']).default('operational'),
  }),
  references: [
    { path: 'serviceCategoryId', target: 'service-categories' },
    { path: 'ownerTeamId', target: 'teams', thirdParty: true },
  ],
});

export const serviceCategories = defineType({
  key: 'service-categories',
  label: 'Service categories',
  area,
  schema: z.strictObject({
    name: displayName(),
    description: description(),
    parentId: entityId().optional(),
    sequence: sequence(),
  }),
  references: [{ path: 'parentId', target: 'service-categories' }],
});

export const assetsTypes: EntityTypeDefinition[] = [
  assets,
  assetTypes,
  assetGroups,
  assetFields,
  genericType('asset-relationships', 'Asset relationships', area),
  genericType('user-asset-relationships', 'User/asset relationships', area),
  services,
  serviceCategories,
];
