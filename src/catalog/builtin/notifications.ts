import { z } from 'zod';
import type { EntityTypeDefinition } from '../entity-type.js';
import { defineType, displayName, enabledInstances, entityId, genericType, secret, secretUrl } from '../define.js';
import { email, entityIds } from './fields.js';

const area = 'notifications';

/** What a promotion request tells (src/promotion): notifications and webhooks listen to these as to desk events. */
export const promotionEvents = ['promotion.requested', 'promotion.approved', 'promotion.rejected', 'promotion.applied', 'promotion.failed', 'promotion.stale'] as const;

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
        ...promotionEvents,
      ]),
      channel: z.enum(['email', 'teams', 'slack', 'webhook']),
      recipients: z.array(email()).max(500).default([]).describe('Email addresses notified besides the teams (channel email).'),
      teamIds: entityIds().describe('Teams whose members are mailed (channel email).'),
      emailTemplateId: entityId().optional().describe('Template of the message (channel email).'),
      webhookUrl: secretUrl()
        .optional()
        .describe(
          'Where the teams, slack and webhook channels post: the channel\'s incoming-webhook address, whose path is its credential. Secret: write-only; responses show { "set": true }.',
        ),
      signingSecret: secret().optional().describe('Signs each post of the webhook channel (HMAC). Secret: write-only; responses show { "set": true }.'),
      enabledInstances: enabledInstances(),
      enabled: z.boolean().default(true),
    })
    .superRefine((notification, ctx) => {
      if (notification.channel === 'email') return;
      for (const field of ['emailTemplateId', 'recipients', 'teamIds'] as const) {
        const value = notification[field];
        if (Array.isArray(value) ? value.length > 0 : value !== undefined) ctx.addIssue({ code: 'custom', message: 'applies to the email channel only', path: [field] });
      }
    }),
  references: [
    { path: 'teamIds[]', target: 'teams', thirdParty: true },
    { path: 'emailTemplateId', target: 'email-templates' },
  ],
  sensitive: ['webhookUrl', 'signingSecret'],
  secretRules: (body) => {
    const webhookUrl = { path: 'webhookUrl', why: 'an address applies to the teams, slack and webhook channels only' };
    const signingSecret = { path: 'signingSecret', why: 'a signing secret applies to the webhook channel only' };
    if (body.channel === 'email') return { notApplicable: [webhookUrl, signingSecret] };
    return { required: ['webhookUrl'], notApplicable: body.channel === 'webhook' ? [] : [signingSecret] };
  },
  instanceScoped: ['enabledInstances'],
});

export const notificationsTypes: EntityTypeDefinition[] = [
  notifications,
  genericType('notification-templates', 'Notification templates', area),
  genericType('message-groups', 'Message groups', area),
];
