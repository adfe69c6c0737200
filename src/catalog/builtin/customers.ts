import type { EntityTypeDefinition } from '../entity-type.js';
import { genericType } from '../define.js';

const area = 'customers';

export const customersTypes: EntityTypeDefinition[] = [
  genericType('customer-types', 'Customer types', area),
  genericType('customer-relationships', 'Customer relationships', area),
  genericType('site-contact-types', 'Site contact types', area),
  genericType('site-fields', 'Site fields', area),
  genericType('user-roles', 'User roles', area),
];
