import type { EntityTypeDefinition } from '../catalog/entity-type.js';
import type { WriteContext } from '../shared/actor.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import type { EntityRecord, Stores } from '../store/ports.js';
import type { MailAccount, MailboxSource } from './inbound-mail.js';
import type { WriteGuard } from '../tracking/change-writer.js';
import { readSettings } from '../tracking/settings-service.js';

const MAILBOXES = 'mailboxes';

interface Credential {
  id: string;
  instance: string;
  mailboxAddress: string;
  username?: string;
  password?: unknown;
  clientId?: string;
  tenantId?: string;
  host?: string;
  port?: number;
  security?: MailAccount['security'];
  folder?: string;
}

const credentialsOf = (body: Record<string, unknown> | null): Credential[] => ((body?.credentials as Credential[] | undefined) ?? []);

/** The same credentials, compared by what they say (their secrets are sealed afresh on every save). */
const sameCredentials = (a: Credential[], b: Credential[]) =>
  JSON.stringify(a.map(({ id, instance, mailboxAddress }) => [id, instance, mailboxAddress])) === JSON.stringify(b.map(({ id, instance, mailboxAddress }) => [id, instance, mailboxAddress]));

/**
 * The write rules of mailbox credentials. Credentials per instance are the mailbox tracking setting's: with it off, a
 * mailbox holds one credential, for this instance. And two credentials that open the same external mailbox would take
 * each other's mail, whichever instances they serve: one mailbox's are checked by its schema, this guard checks them
 * against every other mailbox's.
 */
export function createMailboxWriteGuard(instanceName: string): WriteGuard {
  return {
    async check(stores: Stores, def: EntityTypeDefinition, entityId: string, before, after, ctx: WriteContext) {
      if (def.key !== MAILBOXES || after === null || ctx.actor.kind === 'sync') return;
      const mine = credentialsOf(after);
      if (mine.length === 0) return;
      const problems: FieldProblem[] = [];
      const perInstance = (await readSettings(stores)).trackMailboxes;
      // A mailbox saved before the setting was turned off keeps its credentials until they are changed.
      if (!perInstance && !sameCredentials(mine, credentialsOf(before))) {
        mine.forEach((credential, i) => {
          if (i > 0) problems.push({ path: `credentials[${i}]`, code: 'per-instance-credentials-off', message: 'One credential per mailbox while tracking for mailboxes is off.' });
          else if (credential.instance !== instanceName) {
            problems.push({
              path: `credentials[${i}].instance`,
              code: 'per-instance-credentials-off',
              message: `Credentials for another instance need tracking for mailboxes on; with it off they serve "${instanceName}".`,
            });
          }
        });
      }
      const taken = new Map<string, string>();
      for (const other of await stores.entities.listAll(MAILBOXES)) {
        if (other.id === entityId) continue;
        for (const credential of credentialsOf(other.body)) taken.set(credential.mailboxAddress.toLowerCase(), other.name);
      }
      mine.forEach((credential, i) => {
        const holder = taken.get(credential.mailboxAddress.toLowerCase());
        if (holder !== undefined) {
          problems.push({ path: `credentials[${i}].mailboxAddress`, code: 'mailbox-taken', message: `Mailbox "${holder}" already has credentials for ${credential.mailboxAddress}.` });
        }
      });
      if (problems.length > 0) throw new DomainError('VALIDATION_FAILED', 'The mailbox’s credentials cannot be saved as they are.', { errors: problems });
    },
  };
}

/** The last check of a mailbox this instance reads: when, how many messages, or why it could not be opened. */
export interface MailCheck {
  at: string;
  ok: boolean;
  read: number;
  /** Messages left unread because they are larger than the reader takes. */
  skipped: number;
  error: string | null;
}

/** What this instance does with one mailbox: the credentials it opens it with (never their secrets), or why it does not. */
export interface MailboxProcessing {
  mailboxId: string;
  name: string;
  address: string;
  type: string;
  processes: boolean;
  credential: Omit<Credential, 'instance'> | null;
  reason: string;
  lastCheck: MailCheck | null;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Whether a host name is this machine, where a connection without encryption cannot be read by anyone else. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase()) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** A mailbox this instance reads over IMAP, with the credential it opens it with. */
export interface ReadableMailbox {
  source: MailboxSource;
  mailbox: EntityRecord;
  credential: Credential;
  account: Omit<MailAccount, 'password'>;
}

type Plan = { processes: false; credential: Credential | null; reason: string } | { processes: true; credential: Credential; reason: string; readable: ReadableMailbox };

/** Whether this instance reads a mailbox, and with which credential — only the one naming this instance — or why not. */
function planFor(mailbox: EntityRecord, instanceName: string): Plan {
  const credentials = credentialsOf(mailbox.body);
  const own = credentials.find((c) => c.instance === instanceName);
  if (!own) {
    const elsewhere = credentials.map((c) => c.instance);
    return {
      processes: false,
      credential: null,
      reason:
        elsewhere.length > 0
          ? `No credentials for instance "${instanceName}" (only for ${elsewhere.map((name) => `"${name}"`).join(', ')}): this instance does not read it.`
          : 'No credentials: no instance reads it.',
    };
  }
  const type = String(mailbox.body.type);
  if (type === 'smtp') return { processes: false, credential: own, reason: `An outgoing server: this instance sends notification mail as ${own.mailboxAddress} through it.` };
  if (type !== 'imap') {
    return { processes: false, credential: own, reason: `Shiplog reads mailboxes over IMAP; this ${type} mailbox has credentials for instance "${instanceName}", but it is not read.` };
  }
  const missing = (['host', 'username', 'password'] as const).filter((field) => own[field] === undefined);
  if (missing.length > 0) return { processes: false, credential: own, reason: `The credentials for instance "${instanceName}" have no ${missing.join(', ')}: nothing is read.` };
  const security = own.security ?? 'tls';
  if (security === 'none' && !isLoopbackHost(own.host!)) {
    return { processes: false, credential: own, reason: `Security "none" sends the password unencrypted, which Shiplog does only to this machine, not to ${own.host}: nothing is read.` };
  }
  const account = { host: own.host!, port: own.port ?? (security === 'tls' ? 993 : 143), security, username: own.username!, folder: own.folder ?? 'INBOX' };
  const source: MailboxSource = {
    id: mailbox.id,
    name: mailbox.name,
    address: String(mailbox.body.address),
    mailboxAddress: own.mailboxAddress,
    defaultTicketTypeId: (mailbox.body.defaultTicketTypeId as string | undefined) ?? null,
    defaultTeamId: (mailbox.body.defaultTeamId as string | undefined) ?? null,
  };
  return {
    processes: true,
    credential: own,
    reason: `Reads ${own.mailboxAddress} (${account.folder} at ${account.host}:${account.port}) with the credentials for instance "${instanceName}".`,
    readable: { source, mailbox, credential: own, account },
  };
}

/** The mailboxes this instance reads, each with the credential that names it. */
export async function readableMailboxes(stores: Stores, instanceName: string): Promise<ReadableMailbox[]> {
  return (await stores.entities.listAll(MAILBOXES)).flatMap((mailbox) => {
    const plan = planFor(mailbox, instanceName);
    return plan.processes ? [plan.readable] : [];
  });
}

/** For every mailbox: whether this instance reads it, with which of its credentials (never a secret), and its last check. */
export async function mailboxProcessing(stores: Stores, instanceName: string, lastChecks: ReadonlyMap<string, MailCheck> = new Map()): Promise<MailboxProcessing[]> {
  const mailboxes = await stores.entities.listAll(MAILBOXES);
  return mailboxes.map((mailbox) => {
    const plan = planFor(mailbox, instanceName);
    let credential: Omit<Credential, 'instance'> | null = null;
    if (plan.credential) {
      const { instance: _instance, ...shown } = plan.credential;
      credential = Object.fromEntries(Object.entries(shown).filter(([key]) => !['password', 'clientSecret'].includes(key))) as Omit<Credential, 'instance'>;
    }
    return {
      mailboxId: mailbox.id,
      name: mailbox.name,
      address: String(mailbox.body.address),
      type: String(mailbox.body.type),
      processes: plan.processes,
      credential,
      reason: plan.reason,
      lastCheck: plan.processes ? (lastChecks.get(mailbox.id) ?? null) : null,
    };
  });
}
