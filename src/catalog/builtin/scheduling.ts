import type { EntityTypeDefinition } from '../entity-type.js';
import { genericType } from '../define.js';

const area = 'scheduling';

export const schedulingTypes: EntityTypeDefinition[] = [
  genericType('appointment-types', 'Appointment types', area),
  genericType('break-types', 'Break types', area),
  genericType('shift-types', 'Shift types', area),
];
