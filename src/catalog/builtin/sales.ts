import type { EntityTypeDefinition } from '../entity-type.js';
import { genericType } from '../define.js';

const area = 'sales';

export const salesTypes: EntityTypeDefinition[] = [
  genericType('opportunity-types', 'Opportunity types', area),
  genericType('pipeline-stages', 'Pipeline stages', area),
];
