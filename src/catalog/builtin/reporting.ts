import { z } from 'zod';
import type { EntityTypeDefinition, TrackingRule } from '../entity-type.js';
import { defineType, displayName, genericType } from '../define.js';
import { description, entityIds } from './fields.js';

const area = 'reporting';

const whenReportsTracked: TrackingRule = {
  kind: 'tracked-when',
  setting: 'trackReportsAndDashboards',
  description: 'Tracked when config change tracking for reports and dashboards is enabled.',
};

export const viewLists = defineType({
  key: 'view-lists',
  label: 'View lists',
  area,
  description: 'Ticket lists defined by configuration: promoted along the pipeline, shown to the teams they name.',
  schema: z.strictObject({
    name: displayName(),
    description: description(),
    ticketTypeIds: entityIds().describe('Tickets of these types; empty: any type.'),
    teamIds: entityIds().describe('Tickets of these teams; empty: any team.'),
    statusIds: entityIds().describe('Tickets in these statuses; empty: any status.'),
    closed: z.boolean().optional().describe('Only closed (true) or only open (false) tickets; omitted: both.'),
    summaryContains: z.string().trim().min(1).max(200).optional(),
    visibleToTeamIds: entityIds().describe('Agents of these teams see the list; empty: every agent.'),
  }),
  references: [
    { path: 'ticketTypeIds[]', target: 'ticket-types' },
    { path: 'teamIds[]', target: 'teams', thirdParty: true },
    { path: 'statusIds[]', target: 'statuses' },
    { path: 'visibleToTeamIds[]', target: 'teams', thirdParty: true },
  ],
});

export const reportingTypes: EntityTypeDefinition[] = [
  genericType('reports', 'Reports', area, whenReportsTracked),
  genericType('dashboards', 'Dashboards', area, whenReportsTracked),
  genericType('column-profiles', 'Column profiles', area),
  genericType('filter-profiles', 'Filter profiles', area),
  viewLists,
];
