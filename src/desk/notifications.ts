import type { Catalog } from '../catalog/catalog.js';
import type { EntityRecord, Stores } from '../store/ports.js';
import type { SecretBox } from '../tracking/secret-box.js';
import { openSecret } from '../tracking/secrets.js';
import { readSettings } from '../tracking/settings-service.js';
import { holdsRole } from '../access/agent-access.js';
import { fillTemplate } from './templates.js';
import { deliveryHeaders } from './signature.js';
import type { WebhookRequest } from './webhooks.js';

/** An outgoing mail server: the SMTP mailbox credentials that name this instance. */
export interface MailServer {
  host: string;
  port: number;
  username: string | null;
  password: string | null;
  /** The address mail is sent from (the credential's mailbox address). */
  from: string;
}

export interface MailMessage {
  to: string[];
  subject: string;
  text: string;
  html?: string;
}

/** Sends mail (SMTP in production); rejects with the reason when the server refuses or cannot be reached. */
export interface MailTransport {
  send(server: MailServer, message: MailMessage): Promise<void>;
}

interface SmtpCredential {
  id: string;
  instance: string;
  mailboxAddress: string;
  username?: string;
  host?: string;
  port?: number;
}

/** A notification that cannot be sent as configured: not worth retrying. */
export class NotificationUnsendable extends Error {}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The agents' addresses of the teams: agents holding a role that makes them members, enabled and not API-only. */
async function teamAddresses(stores: Stores, teamIds: string[]): Promise<string[]> {
  if (teamIds.length === 0) return [];
  const settings = await readSettings(stores);
  const roles = (await stores.entities.listAll('roles')).filter((role) =>
    ((role.body.teamMemberships as { teamId: string }[] | undefined) ?? []).some((m) => teamIds.includes(m.teamId)),
  );
  if (roles.length === 0) return [];
  const agents = await stores.agents.list({ limit: 1_000_000 });
  return agents.filter((agent) => !agent.disabled && !agent.apiOnly && roles.some((role) => holdsRole(role, agent, settings))).map((agent) => agent.email);
}

/** What a notification sends for an event: a mail through this instance's SMTP server, or a post to its chat or webhook address. */
export type NotificationSend = { kind: 'mail'; server: MailServer; message: MailMessage } | { kind: 'post'; request: WebhookRequest };

const CHAT_TIMEOUT_MS = 10_000;
const TICKET_TEXTS = { title: '[#{{ticket.number}}] {{ticket.summary}}', line: '{{event}} on ticket #{{ticket.number}}' };
const PROMOTION_TEXTS = {
  title: '[{{instance.name}}] promotion request from {{promotion.from.name}}: {{promotion.status}}',
  line: '{{event}} {{promotion.id}} ({{promotion.approvals}} of {{promotion.approvalsRequired}} approvals) {{promotion.message}}',
};
/** The default title and line of an event's message: a ticket's, or a promotion request's. */
const textsOf = (event: Record<string, unknown>) => (String(event.event).startsWith('promotion.') ? PROMOTION_TEXTS : TICKET_TEXTS);
/** Who an event names to be told besides the notification's own recipients (a promotion request's requester and approvers). */
const eventRecipients = (event: Record<string, unknown>): string[] => (Array.isArray(event.recipients) ? event.recipients.filter((r): r is string => typeof r === 'string') : []);

/** Slack mrkdwn: `&`, `<` and `>` are its control characters (links, mentions), escaped as HTML entities. */
const escapeSlack = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Adaptive Card markdown: its characters backslash-escaped, so a summary cannot make a link or change emphasis. */
const escapeCardMarkdown = (text: string) => text.replace(/[\\`*_{}[\]()#+\-.!<>~|]/g, (c) => `\\${c}`);

/**
 * What a notification sends for an event. The email channel mails its `recipients` and its teams' agents through an
 * SMTP mailbox whose credentials name this instance (the first by name) — each instance sends through its own — with
 * its email template or a short default text. The teams and slack channels post a message to the channel's incoming
 * webhook (an Adaptive Card; Slack mrkdwn), the webhook channel posts the event itself, signed when it has a signing
 * secret. A notification that cannot be sent as configured throws NotificationUnsendable.
 */
export async function composeNotification(
  stores: Stores,
  deps: { catalog: Catalog; box: SecretBox; instanceName: string },
  notification: EntityRecord,
  delivery: { id: string; event: string; payload: string },
  now: number,
): Promise<NotificationSend> {
  const body = notification.body;
  const event = JSON.parse(delivery.payload) as Record<string, unknown>;
  if (body.channel !== 'email') return { kind: 'post', request: chatRequest(deps, notification, delivery, event, now) };

  const mailboxes = (await stores.entities.listAll('mailboxes')).filter((m) => m.body.type === 'smtp').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let server: MailServer | null = null;
  for (const mailbox of mailboxes) {
    const credential = ((mailbox.body.credentials as SmtpCredential[] | undefined) ?? []).find((c) => c.instance === deps.instanceName);
    if (!credential?.host) continue;
    server = {
      host: credential.host,
      port: credential.port ?? 587,
      username: credential.username ?? null,
      password: openSecret(deps.catalog.get('mailboxes'), deps.box, mailbox.id, mailbox.body, `credentials[${credential.id}].password`),
      from: credential.mailboxAddress,
    };
    break;
  }
  if (!server) throw new NotificationUnsendable(`No SMTP mailbox has credentials with a host for instance "${deps.instanceName}": there is nothing to send mail through.`);

  const to = [
    ...new Set([...((body.recipients as string[] | undefined) ?? []), ...eventRecipients(event), ...(await teamAddresses(stores, (body.teamIds as string[] | undefined) ?? []))]),
  ];
  if (to.length === 0) throw new NotificationUnsendable('The notification has no recipients: no addresses, and no agent in its teams.');

  const templateId = body.emailTemplateId as string | undefined;
  const template = templateId ? await stores.entities.find(templateId) : undefined;
  if (template && template.type === 'email-templates') {
    const html = fillTemplate(String(template.body.bodyHtml ?? ''), event, escapeHtml);
    const text = template.body.bodyText === undefined ? html.replace(/<[^>]*>/g, '') : fillTemplate(String(template.body.bodyText), event, (t) => t);
    return { kind: 'mail', server, message: { to, subject: fillTemplate(String(template.body.subject ?? ''), event, (t) => t), text, html } };
  }
  const texts = textsOf(event);
  const line = texts === TICKET_TEXTS ? `${texts.line}, "{{ticket.summary}}".` : texts.line;
  return {
    kind: 'mail',
    server,
    message: { to, subject: fillTemplate(texts.title, event, (t) => t), text: `${String(notification.name)}: ${fillTemplate(line, event, (t) => t)}` },
  };
}

/** The post of a teams, slack or webhook notification: to its secret address, which no log or answer ever shows. */
function chatRequest(
  deps: { catalog: Catalog; box: SecretBox },
  notification: EntityRecord,
  delivery: { id: string; event: string; payload: string },
  event: Record<string, unknown>,
  now: number,
): WebhookRequest {
  const def = deps.catalog.get('notifications');
  const channel = String(notification.body.channel);
  const url = openSecret(def, deps.box, notification.id, notification.body, 'webhookUrl');
  if (!url) throw new NotificationUnsendable(`The ${channel} notification has no webhookUrl to post to.`);
  const name = String(notification.name);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Shiplog-Notifications' };
  let payload: string;
  const texts = textsOf(event);
  if (channel === 'slack') {
    const title = fillTemplate(texts.title, event, escapeSlack);
    payload = JSON.stringify({ text: `*${title}*\n${escapeSlack(name)}: ${fillTemplate(texts.line, event, escapeSlack)}` });
  } else if (channel === 'teams') {
    const card = {
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.4',
      body: [
        { type: 'TextBlock', text: fillTemplate(texts.title, event, escapeCardMarkdown), weight: 'Bolder', size: 'Medium', wrap: true },
        { type: 'TextBlock', text: `${escapeCardMarkdown(name)}: ${fillTemplate(texts.line, event, escapeCardMarkdown)}`, wrap: true },
      ],
    };
    payload = JSON.stringify({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] });
  } else {
    payload = JSON.stringify({ ...event, notification: { id: notification.id, name } });
    Object.assign(headers, deliveryHeaders(delivery, payload, openSecret(def, deps.box, notification.id, notification.body, 'signingSecret'), now));
  }
  return { url, method: 'POST', headers, body: payload, timeoutMs: CHAT_TIMEOUT_MS };
}
