import type { EntityTypeDefinition } from '../entity-type.js';
import { genericType } from '../define.js';

const area = 'billing';

export const billingTypes: EntityTypeDefinition[] = [
  genericType('account-codes', 'Account codes', area),
  genericType('agreement-rules', 'Agreement rules', area),
  genericType('agreement-types', 'Agreement types (and subtypes)', area),
  genericType('charge-types', 'Charge types (and rates)', area),
  genericType('expense-types', 'Expense types', area),
  genericType('item-groups', 'Item groups', area),
  genericType('surcharges', 'Surcharges', area),
];
