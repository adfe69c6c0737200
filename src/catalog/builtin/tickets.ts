import { z } from 'zod';
import type { EntityTypeDefinition } from '../entity-type.js';
import { defineType, displayName, entityId, genericType } from '../define.js';
import { colour, description, entityIds, recordId, sequence, thirdPartyId } from './fields.js';

const area = 'tickets';

const priorityLevel = () => z.number().int().min(1).max(10);

export const statuses = defineType({
  key: 'statuses',
  label: 'Statuses',
  area,
  description: 'Statuses of agents, assets, contracts, purchase orders, tickets, quotes and sales orders.',
  schema: z.strictObject({
    name: displayName(),
    kind: z.enum(['agent', 'asset', 'contract', 'purchase-order', 'ticket', 'quote', 'sales-order']),
    colour: colour().optional(),
    isClosed: z.boolean().default(false).describe('Records in this status count as closed.'),
    isDefault: z.boolean().default(false).describe('Status given to new records of this kind.'),
    sequence: sequence(),
  }),
});

export const ticketTypes = defineType({
  key: 'ticket-types',
  label: 'Ticket types',
  area,
  schema: z.strictObject({
    name: displayName(),
    description: description(),
    defaultTeamId: entityId().optional(),
    defaultStatusId: entityId().optional(),
    workflowId: entityId().optional(),
    slaId: entityId().optional(),
    fieldGroupIds: entityIds(),
    ticketAreaId: entityId().optional(),
    approvalProcessId: entityId().optional(),
    maxPriorityLevel: priorityLevel().optional().describe('Highest priority level a ticket of this type may be escalated to.'),
    allowedForCoManaged: z.boolean().default(true).describe('Co-managed agents may log tickets of this type.'),
  }),
  references: [
    { path: 'defaultTeamId', target: 'teams', thirdParty: true },
    { path: 'defaultStatusId', target: 'statuses' },
    { path: 'workflowId', target: 'workflows' },
    { path: 'slaId', target: 'slas' },
    { path: 'fieldGroupIds[]', target: 'field-groups' },
    { path: 'ticketAreaId', target: 'ticket-areas' },
    { path: 'approvalProcessId', target: 'approval-processes' },
  ],
});

export const ticketAreas = defineType({
  key: 'ticket-areas',
  label: 'Ticket areas',
  area,
  schema: z.strictObject({
    name: displayName(),
    description: description(),
    teamIds: entityIds().describe('Team filter: teams available in this area; empty means every team.'),
    ticketTypeIds: entityIds(),
    statusIds: entityIds(),
  }),
  references: [
    { path: 'teamIds[]', target: 'teams' },
    { path: 'ticketTypeIds[]', target: 'ticket-types' },
    { path: 'statusIds[]', target: 'statuses' },
  ],
});

export const ticketGroups = defineType({
  key: 'ticket-groups',
  label: 'Ticket groups',
  area,
  description: 'Groups of ticket types; a role restricted to ticket groups sees and logs only tickets of their types.',
  schema: z.strictObject({
    name: displayName(),
    description: description(),
    ticketTypeIds: entityIds().describe('Ticket types in this group.'),
  }),
  references: [{ path: 'ticketTypeIds[]', target: 'ticket-types' }],
});

const ruleCriterion = z.discriminatedUnion('field', [
  z.strictObject({
    field: z.literal('customer'),
    operator: z.enum(['includes', 'excludes']),
    customerIds: z
      .array(recordId())
      .min(1)
      .max(1000)
      .describe('Customer record ids (desk records, not configuration).'),
  }),
  z.strictObject({
    field: z.literal('ticket-type'),
    operator: z.enum(['is', 'is-not']),
    ticketTypeIds: z.array(entityId()).min(1).max(1000),
  }),
  z.strictObject({
    field: z.literal('summary'),
    operator: z.enum(['contains', 'not-contains', 'equals']),
    value: z.string().max(1000),
  }),
  z.strictObject({
    field: z.literal('details'),
    operator: z.enum(['contains', 'not-contains']),
    value: z.string().max(1000),
  }),
  z.strictObject({
    field: z.literal('priority'),
    operator: z.literal('is'),
    priorityLevels: z.array(priorityLevel()).min(1).max(10),
  }),
]);

const ruleOutcome = z.discriminatedUnion('field', [
  z.strictObject({ field: z.literal('team'), teamId: entityId() }),
  z.strictObject({
    field: z.literal('agent'),
    agentId: recordId().describe('Agent record id (agents are local access records).'),
    agentThirdPartyId: thirdPartyId().optional().describe('Third-party id of the agent; when given, an agent here must hold it.'),
  }),
  z.strictObject({ field: z.literal('priority'), level: priorityLevel() }),
  z.strictObject({ field: z.literal('status'), statusId: entityId() }),
  z.strictObject({ field: z.literal('ticket-type'), ticketTypeId: entityId() }),
]);

export const ticketRules = defineType({
  key: 'ticket-rules',
  label: 'Ticket rules',
  area,
  schema: z.strictObject({
    name: displayName(),
    description: description(),
    use: z.enum(['new-tickets', 'updated-tickets', 'both']).default('new-tickets'),
    sequence: sequence(),
    stopWhenMatched: z.boolean().default(false).describe('Stop matching other rules when this one matches.'),
    enabled: z.boolean().default(true),
    criteria: z.array(ruleCriterion).min(1).max(100).describe('Every criterion must match.'),
    outcomes: z.array(ruleOutcome).min(1).max(100),
  }),
  references: [
    { path: 'criteria[].ticketTypeIds[]', target: 'ticket-types' },
    { path: 'outcomes[].teamId', target: 'teams', thirdParty: true },
    { path: 'outcomes[].statusId', target: 'statuses' },
    { path: 'outcomes[].ticketTypeId', target: 'ticket-types' },
  ],
  records: [
    { path: 'criteria[].customerIds[]', target: 'customer', by: 'id' },
    { path: 'outcomes[].agentId', target: 'agent', by: 'id' },
    { path: 'outcomes[].agentThirdPartyId', target: 'agent', by: 'third-party-id' },
  ],
});

export const ticketTemplates = defineType({
  key: 'ticket-templates',
  label: 'Ticket templates',
  area,
  schema: z.strictObject({
    name: displayName(),
    templateGroupId: entityId().optional(),
    ticketTypeId: entityId(),
    summary: z.string().trim().min(1).max(500),
    details: z.string().max(100_000).optional(),
    childTemplateIds: entityIds().describe('Templates logged as child tickets of this one.'),
  }),
  references: [
    { path: 'templateGroupId', target: 'ticket-template-groups' },
    { path: 'ticketTypeId', target: 'ticket-types' },
    { path: 'childTemplateIds[]', target: 'ticket-templates' },
  ],
});

export const categories = defineType({
  key: 'categories',
  label: 'Categories',
  area,
  schema: z.strictObject({
    name: displayName(),
    kind: z.enum(['ticket', 'resolution', 'asset', 'knowledge-base', 'service']),
    parentId: entityId().optional().describe('Parent category of the same kind.'),
    sequence: sequence(),
  }),
  references: [{ path: 'parentId', target: 'categories' }],
});

export const ticketsTypes: EntityTypeDefinition[] = [
  statuses,
  ticketTypes,
  ticketAreas,
  ticketGroups,
  ticketRules,
  ticketTemplates,
  genericType('ticket-template-groups', 'Ticket template groups', area),
  genericType('ticket-link-types', 'Ticket link types', area),
  categories,
  genericType('actions', 'Actions', area),
  genericType('automated-tickets', 'Automated tickets', area),
  genericType('scheduled-tickets', 'Scheduled tickets', area),
  genericType('canned-texts', 'Canned text', area),
  genericType('canned-text-groups', 'Canned text groups', area),
];
