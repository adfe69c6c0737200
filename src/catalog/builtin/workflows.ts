import { z } from 'zod';
import type { EntityTypeDefinition } from '../entity-type.js';
import { defineType, displayName, entityId, genericType } from '../define.js';
import { description, entityIds, itemId, recordIds, refuseDuplicates, sequence, thirdPartyIds } from './fields.js';

const area = 'workflows';

const workflowAction = z.strictObject({
  id: itemId(),
  name: displayName(),
  nextStepId: itemId().optional().describe('Step of this workflow that the ticket moves to (a step id, not an entity id).'),
  setStatusId: entityId().optional(),
  restrictAccess: z.boolean().default(false).describe('Only the listed teams and roles may use this action.'),
  restrictToTeamIds: entityIds(),
  restrictToRoleIds: entityIds(),
});

const workflowStep = z.strictObject({
  id: itemId(),
  name: displayName(),
  statusId: entityId().optional(),
  actions: z.array(workflowAction).max(100).default([]),
});

export const workflows = defineType({
  key: 'workflows',
  label: 'Workflows',
  area,
  description: 'Ticket workflows: steps, the actions that move between them, and OLAs.',
  schema: z
    .strictObject({
      name: displayName(),
      description: description(),
      steps: z.array(workflowStep).min(1).max(200),
      startStepId: itemId().describe('Id of the step new tickets start in.'),
      olas: z
        .array(
          z.strictObject({
            name: displayName(),
            minutes: z.number().int().min(1).max(1_000_000),
          }),
        )
        .max(100)
        .default([])
        .describe('Operational level agreements: target minutes for work inside the workflow.'),
    })
    .superRefine((workflow, ctx) => {
      refuseDuplicates(ctx, workflow.steps, ['steps'], 'id', 'step id');
      const stepIds = new Set(workflow.steps.map((step) => step.id));
      if (!stepIds.has(workflow.startStepId)) {
        ctx.addIssue({ code: 'custom', message: `no step has id "${workflow.startStepId}"`, path: ['startStepId'] });
      }
      workflow.steps.forEach((step, stepIndex) => {
        refuseDuplicates(ctx, step.actions, ['steps', stepIndex, 'actions'], 'id', 'action id');
        step.actions.forEach((action, actionIndex) => {
          if (action.nextStepId !== undefined && !stepIds.has(action.nextStepId)) {
            ctx.addIssue({
              code: 'custom',
              message: `no step has id "${action.nextStepId}"`,
              path: ['steps', stepIndex, 'actions', actionIndex, 'nextStepId'],
            });
          }
        });
      });
    }),
  references: [
    { path: 'steps[].statusId', target: 'statuses' },
    { path: 'steps[].actions[].setStatusId', target: 'statuses' },
    { path: 'steps[].actions[].restrictToTeamIds[]', target: 'teams', thirdParty: true },
    { path: 'steps[].actions[].restrictToRoleIds[]', target: 'roles', thirdParty: true },
  ],
});

export const approvalGroups = defineType({
  key: 'approval-groups',
  label: 'Approval groups (CABs)',
  area,
  schema: z
    .strictObject({
      name: displayName(),
      description: description(),
      memberAgentIds: recordIds().describe('Agent record ids of the members.'),
      memberThirdPartyIds: thirdPartyIds(1000).describe('Third-party ids of the members, for linking by third-party id.'),
      quorum: z.number().int().min(1).max(1000).default(1).describe('Approvals needed from the group.'),
    })
    .superRefine((group, ctx) => {
      const members = new Set([...group.memberAgentIds, ...group.memberThirdPartyIds]).size;
      if (members > 0 && group.quorum > members) {
        ctx.addIssue({ code: 'custom', message: `quorum ${group.quorum} exceeds the ${members} members`, path: ['quorum'] });
      }
    }),
  records: [
    { path: 'memberAgentIds[]', target: 'agent', by: 'id' },
    { path: 'memberThirdPartyIds[]', target: 'agent', by: 'third-party-id' },
  ],
});

const approverRequirement = {
  team: 'teamId',
  cab: 'cabId',
  role: 'roleId',
} as const;

export const approvalProcesses = defineType({
  key: 'approval-processes',
  label: 'Approval processes',
  area,
  schema: z
    .strictObject({
      name: displayName(),
      description: description(),
      steps: z
        .array(
          z.strictObject({
            id: itemId(),
            name: displayName(),
            approverKind: z.enum(['agent', 'team', 'cab', 'role', 'customer-approver']),
            agentIds: recordIds().describe('Agent record ids (approverKind agent).'),
            agentThirdPartyIds: thirdPartyIds(1000).describe('Third-party ids of the approving agents, for linking by third-party id.'),
            teamId: entityId().optional(),
            cabId: entityId().optional(),
            roleId: entityId().optional(),
            requiredApprovals: z.number().int().min(1).max(1000).default(1),
          }),
        )
        .min(1)
        .max(50),
    })
    .superRefine((process, ctx) => {
      refuseDuplicates(ctx, process.steps, ['steps'], 'id', 'step id');
      process.steps.forEach((step, index) => {
        if (step.approverKind === 'agent' && step.agentIds.length === 0 && step.agentThirdPartyIds.length === 0) {
          ctx.addIssue({ code: 'custom', message: 'an agent step needs agentIds or agentThirdPartyIds', path: ['steps', index, 'agentIds'] });
        }
        if (step.approverKind === 'agent' || step.approverKind === 'customer-approver') return;
        const field = approverRequirement[step.approverKind];
        if (step[field] === undefined) {
          ctx.addIssue({ code: 'custom', message: `a ${step.approverKind} step needs ${field}`, path: ['steps', index, field] });
        }
      });
    }),
  references: [
    { path: 'steps[].teamId', target: 'teams', thirdParty: true },
    { path: 'steps[].cabId', target: 'approval-groups', thirdParty: true },
    { path: 'steps[].roleId', target: 'roles', thirdParty: true },
  ],
  records: [
    { path: 'steps[].agentIds[]', target: 'agent', by: 'id' },
    { path: 'steps[].agentThirdPartyIds[]', target: 'agent', by: 'third-party-id' },
  ],
});

export const approvalProcessRules = defineType({
  key: 'approval-process-rules',
  label: 'Approval process rules',
  area,
  schema: z.strictObject({
    name: displayName(),
    approvalProcessId: entityId(),
    criteria: z
      .array(
        z.strictObject({
          field: z.string().trim().min(1).max(100),
          operator: z.string().trim().min(1).max(50),
          value: z.string().max(1000),
        }),
      )
      .max(100)
      .default([])
      .describe('Every criterion must match; empty matches every ticket.'),
    sequence: sequence(),
  }),
  references: [{ path: 'approvalProcessId', target: 'approval-processes', thirdParty: true }],
});

export const workflowsTypes: EntityTypeDefinition[] = [
  workflows,
  approvalGroups,
  approvalProcesses,
  approvalProcessRules,
  genericType('event-rules', 'Event rules', area),
];
