import { z } from 'zod';
import type { EntityTypeDefinition } from '../entity-type.js';
import { defineType, displayName, genericType, properties } from '../define.js';
import { recordIds, thirdPartyIds } from './fields.js';

const area = 'customers';

/** Roles of users of customers: which users hold them travels by third-party id, as users are local records. */
export const userRoles = defineType({
  key: 'user-roles',
  label: 'User roles',
  area,
  description: 'Roles held by users of customers.',
  schema: z.strictObject({
    name: displayName(),
    description: z.string().max(4000).optional(),
    properties: properties(),
    userIds: recordIds().describe('Ids of the users holding this role here. Instance-local: each instance keeps its own, as users are local.'),
    userThirdPartyIds: thirdPartyIds(10_000).describe('Third-party ids of the users holding this role, for linking by third-party id.'),
  }),
  instanceLocal: { userIds: [] },
  records: [
    { path: 'userIds[]', target: 'user', by: 'id' },
    { path: 'userThirdPartyIds[]', target: 'user', by: 'third-party-id' },
  ],
});

export const customersTypes: EntityTypeDefinition[] = [
  genericType('customer-types', 'Customer types', area),
  genericType('customer-relationships', 'Customer relationships', area),
  genericType('site-contact-types', 'Site contact types', area),
  genericType('site-fields', 'Site fields', area),
  userRoles,
];
