import { z } from 'zod';
import type { EntityTypeDefinition } from '../entity-type.js';
import { defineType, displayName, enabledInstances, entityId, genericType } from '../define.js';
import { email, entityIds } from './fields.js';

const area = 'notifications';

export const notifications = defineType({
  key: 'notifications',
  label: 'Notifications',
  area,
  description: 'Messages sent on desk events, dispatched only on the enabled instances.',
  schema: z
    .strictObject({
      name: displayName(),
      event: z.enum([
        'ticket.created',
        'ticket.updated',
        'ticket.closed',
        'ticket.assigned',
        'ticket.action',
        'sla.warning',
        'sla.breached',
        'approval.requested',
      ]),
      channel: z.enum(['email', 'teams', 'slack', 'webhook']),
      recipients: z.array(email()).max(500).default([]).describe('Email addresses notified besides the teams.'),
      teamIds: entityIds().describe('Teams whose members are notified.'),
      emailTemplateId: entityId().optional().describe('Template of the message (channel email).'),
      enabledInstances: enabledInstances(),
      enabled: z.boolean().default(true),
    })
    .superRefine((notification, ctx) => {
      if (notification.emailTemplateId !== undefined && notification.channel !== 'email') {
        ctx.addIssue({
          code: 'custom',
          message: 'an email template applies to the email channel only',
          path: ['emailTemplateId'],
        });
      }
    }),
  references: [
    { path: 'teamIds[]', target: 'teams', thirdParty: true },
    { path: 'emailTemplateId', target: 'email-templates' },
  ],
  instanceScoped: ['enabledInstances'],
});

export const notificationsTypes: EntityTypeDefinition[] = [
  notifications,
  genericType('notification-templates', 'Notification templates', area),
  genericType('message-groups', 'Message groups', area),
];
