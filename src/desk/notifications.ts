import type { Catalog } from '../catalog/catalog.js';
import type { EntityRecord, Stores } from '../store/ports.js';
import type { SecretBox } from '../tracking/secret-box.js';
import { openSecret } from '../tracking/secrets.js';
import { readSettings } from '../tracking/settings-service.js';
import { holdsRole } from '../access/agent-access.js';
import { fillTemplate } from './templates.js';

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

/**
 * The mail a notification sends for an event, and the server it goes through: an SMTP mailbox whose credentials
 * name this instance (the first by name) — each instance sends through its own. Only the email channel is sent;
 * a notification that cannot be sent as configured throws NotificationUnsendable.
 */
export async function composeNotification(
  stores: Stores,
  deps: { catalog: Catalog; box: SecretBox; instanceName: string },
  notification: EntityRecord,
  payload: string,
): Promise<{ server: MailServer; message: MailMessage }> {
  const body = notification.body;
  if (body.channel !== 'email') {
    throw new NotificationUnsendable(`The ${String(body.channel)} channel has no connection to send through here; only email notifications are sent.`);
  }
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

  const to = [...new Set([...((body.recipients as string[] | undefined) ?? []), ...(await teamAddresses(stores, (body.teamIds as string[] | undefined) ?? []))])];
  if (to.length === 0) throw new NotificationUnsendable('The notification has no recipients: no addresses, and no agent in its teams.');

  const event = JSON.parse(payload) as unknown;
  const templateId = body.emailTemplateId as string | undefined;
  const template = templateId ? await stores.entities.find(templateId) : undefined;
  if (template && template.type === 'email-templates') {
    const html = fillTemplate(String(template.body.bodyHtml ?? ''), event, escapeHtml);
    const text = template.body.bodyText === undefined ? html.replace(/<[^>]*>/g, '') : fillTemplate(String(template.body.bodyText), event, (t) => t);
    return { server, message: { to, subject: fillTemplate(String(template.body.subject ?? ''), event, (t) => t), text, html } };
  }
  return {
    server,
    message: {
      to,
      subject: fillTemplate('[#{{ticket.number}}] {{ticket.summary}}', event, (t) => t),
      text: fillTemplate(`${String(notification.name)}: {{event}} on ticket #{{ticket.number}}, "{{ticket.summary}}".`, event, (t) => t),
    },
  };
}
