import { z } from 'zod';
import type { EntityTypeDefinition } from '../entity-type.js';
import { defineType, displayName, entityId, genericType, httpUrl, secret } from '../define.js';
import { colour, description, email, entityIds, recordIds, refuseBadRegex, sequence, thirdPartyIds } from './fields.js';

const area = 'teams-and-agents';

/** The built-in Administrator role has the same global id on every instance, so pipelines agree on it. */
export const ADMINISTRATOR_ROLE_ID = '0000000000000000000000ADMN';

const accessLevel = () => z.enum(['none', 'read', 'modify']).default('none');

const ticketPermission = () => z.boolean().default(false);

export const teams = defineType({
  key: 'teams',
  label: 'Teams',
  area,
  schema: z.strictObject({
    name: displayName(),
    description: description(),
    email: email().optional(),
    departmentId: entityId().optional(),
    isCoManaged: z
      .boolean()
      .default(false)
      .describe('Team of third-party (co-managed) agents acting for a separate organisation.'),
  }),
  references: [{ path: 'departmentId', target: 'departments', thirdParty: true }],
});

export const roles = defineType({
  key: 'roles',
  label: 'Roles (agent)',
  area,
  description: 'Agent roles: access levels, ticket permissions and team memberships.',
  schema: z.strictObject({
    name: displayName(),
    description: description(),
    configAccess: accessLevel().describe('Access to the configuration module.'),
    canPushConfig: z.boolean().default(false).describe('Can push configuration changes to other instances.'),
    canApprovePromotions: z.boolean().optional().describe('Can approve or reject promotion requests, and apply approved ones (promotions:approve).'),
    canBypassPromotionWindows: z
      .boolean()
      .optional()
      .describe('Can apply an approved promotion request outside the deploy windows and freezes, giving a reason (promotions:bypass).'),
    ticketAccess: accessLevel(),
    customerAccess: accessLevel().describe('Access to customers, and to their assets.'),
    userAccess: accessLevel(),
    assetAccess: accessLevel(),
    ticketPermissions: z
      .strictObject({
        addTickets: ticketPermission(),
        editClosedTickets: ticketPermission(),
        viewUnassignedTickets: ticketPermission(),
        viewTicketsAssignedToOthers: ticketPermission(),
        changeTicketType: ticketPermission(),
        reassignTickets: ticketPermission(),
        assignOutsideOwnTeams: ticketPermission().describe('Can assign to agents in teams the agent is not a member of.'),
        editTicketsNotAssigned: ticketPermission().describe('Can edit tickets which are not assigned to them.'),
        overrideMaxPriority: ticketPermission().describe('Can override the maximum priority escalation at ticket type level.'),
        overrideReviewProcessing: ticketPermission(),
        treatAsSpam: ticketPermission().describe('Can use "treat as spam" and edit action visibility for users.'),
        exportTickets: ticketPermission(),
      })
      .prefault({}),
    teamMemberships: z
      .array(
        z.strictObject({
          teamId: entityId(),
          access: z
            .enum(['read', 'modify'])
            .default('read')
            .describe('read: the team’s tickets are within reach, changed as the ticket permissions allow; modify: they are the members’ own work.'),
        }),
      )
      .max(1000)
      .default([])
      .describe('Teams that agents with this role are members of, with their access to the team’s tickets.'),
    customerRestrictions: z
      .strictObject({
        allowAllCustomers: z.boolean().default(true),
        customerIds: recordIds().describe('Customers these agents may see when allowAllCustomers is false.'),
      })
      .prefault({})
      .describe('Client restrictions, as used for co-managed agents.'),
    ticketGroupRestrictions: z
      .strictObject({
        restrictToGroups: z.boolean().default(false),
        ticketGroupIds: entityIds().describe('Ticket groups whose ticket types these agents may see, when restrictToGroups is true.'),
      })
      .prefault({})
      .describe('Ticket group restrictions: the ticket types whose tickets these agents see and log.'),
    agentIds: z
      .array(entityId())
      .max(10_000)
      .default([])
      .describe('Global ids of the agents holding this role here. Instance-local: each instance keeps its own, as agents are local.'),
    agentThirdPartyIds: thirdPartyIds(10_000).describe('Third-party ids of the agents holding this role, for linking by third-party id.'),
  }),
  references: [
    { path: 'teamMemberships[].teamId', target: 'teams', thirdParty: true },
    { path: 'ticketGroupRestrictions.ticketGroupIds[]', target: 'ticket-groups' },
  ],
  instanceLocal: { agentIds: [] },
  // Who administers an instance is that instance's alone: the Administrator role's holders never travel.
  entityLocal: { [ADMINISTRATOR_ROLE_ID]: { agentThirdPartyIds: [] } },
  records: [
    { path: 'customerRestrictions.customerIds[]', target: 'customer', by: 'id' },
    { path: 'agentIds[]', target: 'agent', by: 'id' },
    { path: 'agentThirdPartyIds[]', target: 'agent', by: 'third-party-id' },
  ],
});

export const agentStatuses = defineType({
  key: 'agent-statuses',
  label: 'Agent check-in statuses',
  area,
  schema: z.strictObject({
    name: displayName(),
    colour: colour().optional(),
    isAvailable: z.boolean().default(true).describe('Agents in this status can be assigned work.'),
    sequence: sequence(),
  }),
});

export const ssoConnections = defineType({
  key: 'sso-connections',
  label: 'Single sign-on connections',
  area,
  description: 'OpenID Connect sign-in for agents, restricted per instance and by claim rules.',
  schema: z
    .strictObject({
      name: displayName(),
      protocol: z.literal('oidc'),
      issuer: httpUrl().describe('OpenID Provider issuer URL (discovery document base).'),
      clientId: z.string().trim().min(1).max(500),
      clientSecret: secret().optional(),
      scopes: z
        .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,200}$/, 'must be an OAuth scope token'))
        .max(50)
        .default(['openid', 'email', 'profile']),
      instances: z
        .array(z.string().trim().min(1).max(100))
        .min(1)
        .max(50)
        .describe('Instance names where this connection may be used to sign in.'),
      claimValidations: z
        .array(
          z.strictObject({
            claim: z.string().trim().min(1).max(200),
            operator: z.enum(['equals', 'not-equals', 'contains', 'not-contains', 'regex']),
            value: z.string().max(1000),
          }),
        )
        .max(50)
        .default([])
        .describe('Every rule must hold on the ID token’s claims for sign-in to succeed.'),
      matchAgentBy: z.enum(['email', 'third-party-id']).default('email'),
      enabled: z.boolean().default(true),
    })
    .superRefine((connection, ctx) => {
      if (!connection.scopes.includes('openid')) {
        ctx.addIssue({ code: 'custom', message: 'scopes must include "openid"', path: ['scopes'] });
      }
      connection.claimValidations.forEach((rule, index) => {
        if (rule.operator === 'regex') refuseBadRegex(ctx, rule.value, ['claimValidations', index, 'value']);
      });
    }),
  sensitive: ['clientSecret'],
  instanceScoped: ['instances'],
  // A connection signs people in as the agent its claims match, administrators included.
  accessManagement: true,
});

export const teamsAndAgentsTypes: EntityTypeDefinition[] = [
  teams,
  roles,
  agentStatuses,
  genericType('departments', 'Departments', area),
  genericType('qualifications', 'Qualifications', area),
  ssoConnections,
];
