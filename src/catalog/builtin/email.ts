import { z } from 'zod';
import type { EntityTypeDefinition } from '../entity-type.js';
import { defineType, displayName, entityId, genericType, secret } from '../define.js';
import { email, itemId, refuseDuplicates } from './fields.js';

const area = 'email';

export const mailboxes = defineType({
  key: 'mailboxes',
  label: 'Mailboxes',
  area,
  tracking: {
    kind: 'tracked-when',
    setting: 'trackMailboxes',
    description: 'Tracked when config change tracking for mailboxes is enabled.',
  },
  description: 'Incoming mailboxes; each instance opens its own external mailbox with its own credentials.',
  schema: z
    .strictObject({
      name: displayName(),
      address: email().describe('Address customers write to.'),
      type: z.enum(['microsoft', 'google', 'imap', 'pop3', 'ews', 'smtp']),
      defaultTicketTypeId: entityId().optional(),
      defaultTeamId: entityId().optional(),
      credentials: z
        .array(
          z.strictObject({
            id: itemId(),
            instance: z.string().trim().min(1).max(100).describe('Name of the instance these credentials serve.'),
            mailboxAddress: email().describe('External mailbox these credentials open.'),
            username: z.string().max(320).optional(),
            password: secret().optional(),
            clientId: z.string().trim().min(1).max(500).optional(),
            clientSecret: secret().optional(),
            tenantId: z.string().trim().min(1).max(200).optional(),
            host: z.string().trim().min(1).max(500).optional(),
            port: z.number().int().min(1).max(65_535).optional(),
            security: z
              .enum(['tls', 'starttls', 'none'])
              .optional()
              .describe('How the connection to host is secured: tls (the default), starttls, or none (a server on this machine only).'),
            folder: z.string().trim().min(1).max(200).optional().describe('Folder an IMAP mailbox is read from (default INBOX).'),
          }),
        )
        .max(50)
        .default([])
        .describe('Per-instance credentials; an instance without an entry does not read this mailbox.'),
    })
    .superRefine((mailbox, ctx) => {
      refuseDuplicates(ctx, mailbox.credentials, ['credentials'], 'id', 'credentials id');
      refuseDuplicates(ctx, mailbox.credentials, ['credentials'], 'instance', 'instance');
      // Two instances reading one mailbox would each take the other's mail.
      refuseDuplicates(ctx, mailbox.credentials, ['credentials'], 'mailboxAddress', 'mailbox address', (value) =>
        String(value).toLowerCase(),
      );
    }),
  references: [
    { path: 'defaultTicketTypeId', target: 'ticket-types' },
    { path: 'defaultTeamId', target: 'teams', thirdParty: true },
  ],
  sensitive: ['credentials[].password', 'credentials[].clientSecret'],
});

export const emailTemplates = defineType({
  key: 'email-templates',
  label: 'Email templates',
  area,
  schema: z.strictObject({
    name: displayName(),
    subject: z.string().max(500),
    bodyHtml: z.string().max(200_000),
    bodyText: z.string().max(200_000).optional(),
    language: z
      .string()
      .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, 'must be a language tag such as en or en-GB')
      .default('en'),
  }),
});

export const emailTypes: EntityTypeDefinition[] = [
  mailboxes,
  emailTemplates,
  genericType('email-rules', 'Email rules', area),
  genericType('pdf-templates', 'PDF templates', area),
];
