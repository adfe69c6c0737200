import { z } from 'zod';
import type { EntityTypeDefinition } from '../entity-type.js';
import { defineType, displayName, enabledInstances, httpUrl, properties, secret } from '../define.js';
import {
  description,
  httpAuthentication,
  httpAuthenticationSecrets,
  httpHeaders,
  itemId,
  refuseDuplicates,
} from './fields.js';
import { promotionEvents } from './notifications.js';

const area = 'integrations';

const webhookEvent = z.enum(['ticket.created', 'ticket.updated', 'ticket.closed', 'ticket.action', ...promotionEvents]);

const eventList = () =>
  z
    .array(webhookEvent)
    .max(webhookEvent.options.length)
    .refine((events) => new Set(events).size === events.length, 'events must not repeat');

export const webhooks = defineType({
  key: 'webhooks',
  label: 'Webhooks',
  area,
  description: 'Outgoing HTTP calls on ticket events, dispatched only on the enabled instances.',
  schema: z.strictObject({
    name: displayName(),
    url: httpUrl(),
    method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
    events: eventList().min(1),
    headers: httpHeaders(),
    signingSecret: secret()
      .optional()
      .describe('Signs each delivery (HMAC). Secret: write-only; responses show { "set": true }.'),
    authentication: httpAuthentication().optional(),
    enabledInstances: enabledInstances(),
    enabled: z.boolean().default(true),
    timeoutMs: z.number().int().min(100).max(30_000).default(5000),
    maxAttempts: z.number().int().min(1).max(10).default(5),
  }),
  sensitive: ['signingSecret', ...httpAuthenticationSecrets('authentication')],
  instanceScoped: ['enabledInstances'],
});

export const runbooks = defineType({
  key: 'runbooks',
  label: 'Runbooks (custom integrations)',
  area,
  schema: z
    .strictObject({
      name: displayName(),
      description: description(),
      baseUrl: httpUrl(),
      authentication: httpAuthentication().optional(),
      steps: z
        .array(
          z.strictObject({
            id: itemId(),
            name: displayName(),
            method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
            path: z.string().max(2000).regex(/^\//, 'must start with "/"').describe('Request path, relative to baseUrl.'),
            body: z.string().max(100_000).optional(),
          }),
        )
        .min(1)
        .max(100),
      triggerEvents: eventList()
        .default([])
        .describe('Events that run this runbook; empty means run on demand only.'),
      enabledInstances: enabledInstances(),
      enabled: z.boolean().default(true),
    })
    .superRefine((runbook, ctx) => {
      refuseDuplicates(ctx, runbook.steps, ['steps'], 'id', 'step id');
    }),
  sensitive: httpAuthenticationSecrets('authentication'),
  instanceScoped: ['enabledInstances'],
});

/** A connection to an outside system: where it is, how to sign in, and on which instances it is used. */
function connectionType(key: string, label: string, typeDescription: string): EntityTypeDefinition {
  return defineType({
    key,
    label,
    area,
    description: typeDescription,
    schema: z.strictObject({
      name: displayName(),
      description: description(),
      provider: z.string().trim().min(1).max(100).optional().describe('Kind of system, e.g. microsoft-365, jira, openai.'),
      baseUrl: httpUrl().optional(),
      host: z.string().trim().min(1).max(500).optional(),
      port: z.number().int().min(1).max(65_535).optional(),
      tenantId: z.string().trim().min(1).max(200).optional(),
      clientId: z.string().trim().min(1).max(500).optional(),
      clientSecret: secret().optional(),
      username: z.string().max(200).optional(),
      password: secret().optional(),
      apiKey: secret().optional(),
      settings: properties().describe('Other, non-secret connection settings.'),
      enabledInstances: enabledInstances(),
      enabled: z.boolean().default(true),
    }),
    sensitive: ['clientSecret', 'password', 'apiKey'],
    instanceScoped: ['enabledInstances'],
  });
}

export const integrationsTypes: EntityTypeDefinition[] = [
  webhooks,
  runbooks,
  connectionType('integrations', 'Integrations', 'Connection details of built-in integrations.'),
  connectionType('ai-connections', 'AI connection credentials', 'Connections to AI providers.'),
  connectionType('active-directory-connections', 'Active Directory', 'Active Directory / Entra ID user and agent sync.'),
  connectionType('devops-connections', 'DevOps', 'Connections to DevOps tools.'),
  connectionType('sql-imports', 'SQL imports', 'SQL imports of assets (SCCM, Lansweeper).'),
  connectionType('virima-connections', 'Virima integration', 'Connection to Virima.'),
];
