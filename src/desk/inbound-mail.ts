import { createHash } from 'node:crypto';
import type { Actor } from '../shared/actor.js';
import type { DeskUserRecord, InboundMailRecord, Stores, TicketRecord } from '../store/ports.js';

/** One message read from a mailbox, as the reader parsed it. */
export interface InboundMessage {
  /** The Message-ID header without its angle brackets, if the message has one. */
  messageId: string | null;
  from: { address: string; name: string } | null;
  subject: string;
  /** The plain-text body (from the HTML part when there is no text part). */
  text: string;
  inReplyTo: string | null;
  references: string[];
  /** Set by an auto-responder, a list or a bounce (Auto-Submitted, Precedence, X-Autoreply, a null sender). */
  automatic: boolean;
  /** The raw message, for a key when it has no Message-ID. */
  raw: Buffer;
}

/** How an instance opens one external mailbox: host, port, how the connection is secured, and the login. */
export interface MailAccount {
  host: string;
  port: number;
  security: 'tls' | 'starttls' | 'none';
  username: string;
  password: string;
  folder: string;
}

/**
 * Reads new mail from an external mailbox (IMAP in production). `handle` is called for each unread message in the
 * order received; a message is marked read only after `handle` resolves, so one whose handling failed is read again
 * at the next check. Rejects when the mailbox cannot be opened (with a message that never holds the password).
 */
export interface MailReader {
  read(account: MailAccount, handle: (message: InboundMessage) => Promise<void>, limits: { maxMessages: number; maxBytes: number }): Promise<{ read: number; skipped: number }>;
}

/** The mailbox a message came in through, as the desk needs it. */
export interface MailboxSource {
  id: string;
  name: string;
  address: string;
  /** The external mailbox this instance's credentials open. */
  mailboxAddress: string;
  defaultTicketTypeId: string | null;
  defaultTeamId: string | null;
}

/** The actor of what a mailbox does on the desk. */
export function mailboxActor(mailbox: Pick<MailboxSource, 'id' | 'name'>): Actor {
  return { kind: 'system', id: `mailbox:${mailbox.id}`, name: `Mailbox ${mailbox.name}` };
}

/** The key a message is logged under: its Message-ID, or a digest of the whole message when it has none. */
export function messageKey(message: Pick<InboundMessage, 'messageId' | 'raw'>): string {
  return message.messageId ?? `sha256:${createHash('sha256').update(message.raw).digest('hex')}`;
}

/** The ticket number a subject names as Shiplog's notifications write it (`[#42]`), if any. */
export function ticketNumberIn(subject: string): number | null {
  const match = /\[#(\d{1,9})\]/.exec(subject);
  return match ? Number(match[1]) : null;
}

/** A summary from a subject: without reply and forward prefixes, never empty, at most 500 characters. */
export function summaryOf(subject: string): string {
  const bare = subject.replace(/^\s*((re|fw|fwd|aw|sv|wg)\s*:\s*)+/i, '').trim();
  return (bare.length > 0 ? bare : '(no subject)').slice(0, 500);
}

/**
 * A reply's new text: everything above the quoted message ("On … wrote:", an Outlook header block or a run of
 * `>` lines), trimmed. A reply that is all quote keeps its full text.
 */
export function replyText(text: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const cut = lines.findIndex(
    (line, i) =>
      /^On .+wrote:\s*$/.test(line.trim()) ||
      /^-{2,}\s*Original Message\s*-{2,}$/i.test(line.trim()) ||
      (/^From:\s/.test(line) && /^(Sent|Date):\s/.test(lines[i + 1] ?? '')) ||
      (line.startsWith('>') && lines.slice(i).every((rest) => rest.startsWith('>') || rest.trim() === '')),
  );
  const kept = (cut === -1 ? lines : lines.slice(0, cut)).join('\n').trim();
  return kept.length > 0 ? kept : text.trim();
}

/** What to do with one message, decided from the mail log, the sender and the subject. */
export type MailRouting =
  | { kind: 'duplicate'; record: InboundMailRecord }
  | { kind: 'ignore'; reason: string }
  | { kind: 'note'; ticket: TicketRecord; user: DeskUserRecord; reason: string }
  | { kind: 'ticket'; user: DeskUserRecord; ticketTypeId: string };

/**
 * Routes a message: a message already logged for this mailbox is a duplicate; automatic mail, mail from the mailbox
 * itself and mail from an address that is not exactly one user's is ignored; a reply from a user of the ticket's
 * customer — naming the ticket as `[#number]`, or answering mail that logged it — becomes a note; anything else from a
 * user logs a new ticket for the user's customer, if the mailbox has a ticket type to log it with.
 */
export async function routeInboundMail(stores: Stores, mailbox: MailboxSource, message: InboundMessage): Promise<MailRouting> {
  const logged = await stores.desk.findInboundMail(messageKey(message), mailbox.id);
  if (logged) return { kind: 'duplicate', record: logged };
  if (message.automatic) return { kind: 'ignore', reason: 'Automatic mail (an auto-reply, a bounce or a list): not logged, so two systems cannot answer each other forever.' };
  const sender = message.from?.address.toLowerCase() ?? null;
  if (!sender) return { kind: 'ignore', reason: 'The message has no sender address.' };
  if (sender === mailbox.address.toLowerCase() || sender === mailbox.mailboxAddress.toLowerCase()) {
    return { kind: 'ignore', reason: 'The message comes from the mailbox itself.' };
  }
  const users = await stores.desk.findUsersByEmail(sender, 2);
  if (users.length === 0) return { kind: 'ignore', reason: `${sender} is not the address of any user: only users of customers log tickets by mail.` };
  if (users.length > 1) return { kind: 'ignore', reason: `${sender} is the address of more than one user, so the customer is not known.` };
  const user = users[0]!;

  const reply = await repliedTicket(stores, message);
  if (reply && reply.ticket.customerId === user.customerId) return { kind: 'note', ticket: reply.ticket, user, reason: reply.by };

  if (!mailbox.defaultTicketTypeId) return { kind: 'ignore', reason: 'The mailbox has no default ticket type to log tickets with.' };
  return { kind: 'ticket', user, ticketTypeId: mailbox.defaultTicketTypeId };
}

/** The ticket a message answers: by the mail it replies to, else by the `[#number]` in its subject. */
async function repliedTicket(stores: Stores, message: InboundMessage): Promise<{ ticket: TicketRecord; by: string } | null> {
  for (const id of [message.inReplyTo, ...[...message.references].reverse()]) {
    if (!id) continue;
    const earlier = await stores.desk.findInboundMail(id);
    const ticket = earlier?.ticketId ? await stores.desk.findTicket(earlier.ticketId) : undefined;
    if (ticket) return { ticket, by: `A reply to mail of ticket #${ticket.number}.` };
  }
  const number = ticketNumberIn(message.subject);
  const ticket = number === null ? undefined : await stores.desk.findTicketByNumber(number);
  return ticket ? { ticket, by: `The subject names ticket #${ticket.number}.` } : null;
}
