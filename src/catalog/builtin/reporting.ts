import type { EntityTypeDefinition, TrackingRule } from '../entity-type.js';
import { genericType } from '../define.js';

const area = 'reporting';

const whenReportsTracked: TrackingRule = {
  kind: 'tracked-when',
  setting: 'trackReportsAndDashboards',
  description: 'Tracked when config change tracking for reports and dashboards is enabled.',
};

export const reportingTypes: EntityTypeDefinition[] = [
  genericType('reports', 'Reports', area, whenReportsTracked),
  genericType('dashboards', 'Dashboards', area, whenReportsTracked),
  genericType('column-profiles', 'Column profiles', area),
  genericType('filter-profiles', 'Filter profiles', area),
  genericType('view-lists', 'View lists', area),
];
