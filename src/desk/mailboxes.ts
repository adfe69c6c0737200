import type { EntityTypeDefinition } from '../catalog/entity-type.js';
import type { WriteContext } from '../shared/actor.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import type { Stores } from '../store/ports.js';
import type { WriteGuard } from '../tracking/change-writer.js';

const MAILBOXES = 'mailboxes';

interface Credential {
  id: string;
  instance: string;
  mailboxAddress: string;
  username?: string;
  clientId?: string;
  tenantId?: string;
  host?: string;
  port?: number;
}

const credentialsOf = (body: Record<string, unknown> | null): Credential[] => ((body?.credentials as Credential[] | undefined) ?? []);

/**
 * Two credentials that open the same external mailbox would take each other's mail, whichever instances they serve:
 * one mailbox's credentials are checked by its schema, this guard checks them against every other mailbox's.
 */
export const mailboxWriteGuard: WriteGuard = {
  async check(stores: Stores, def: EntityTypeDefinition, entityId: string, _before, after, ctx: WriteContext) {
    if (def.key !== MAILBOXES || after === null || ctx.actor.kind === 'sync') return;
    const mine = credentialsOf(after);
    if (mine.length === 0) return;
    const taken = new Map<string, string>();
    for (const other of await stores.entities.listAll(MAILBOXES)) {
      if (other.id === entityId) continue;
      for (const credential of credentialsOf(other.body)) taken.set(credential.mailboxAddress.toLowerCase(), other.name);
    }
    const problems: FieldProblem[] = mine.flatMap((credential, i) => {
      const holder = taken.get(credential.mailboxAddress.toLowerCase());
      return holder === undefined
        ? []
        : [{ path: `credentials[${i}].mailboxAddress`, code: 'mailbox-taken', message: `Mailbox "${holder}" already has credentials for ${credential.mailboxAddress}.` }];
    });
    if (problems.length > 0) throw new DomainError('VALIDATION_FAILED', 'Another mailbox already opens that external mailbox.', { errors: problems });
  },
};

/** What this instance does with one mailbox: the credentials it opens it with (never their secrets), or why it does not. */
export interface MailboxProcessing {
  mailboxId: string;
  name: string;
  address: string;
  type: string;
  processes: boolean;
  credential: Omit<Credential, 'instance'> | null;
  reason: string;
}

/** For every mailbox: whether this instance reads it, and with which of its credentials — only the one naming this instance. */
export async function mailboxProcessing(stores: Stores, instanceName: string): Promise<MailboxProcessing[]> {
  const mailboxes = await stores.entities.listAll(MAILBOXES);
  return mailboxes.map((mailbox) => {
    const credentials = credentialsOf(mailbox.body);
    const own = credentials.find((c) => c.instance === instanceName);
    const base = { mailboxId: mailbox.id, name: mailbox.name, address: String(mailbox.body.address), type: String(mailbox.body.type) };
    if (!own) {
      const elsewhere = credentials.map((c) => c.instance);
      return {
        ...base,
        processes: false,
        credential: null,
        reason:
          elsewhere.length > 0
            ? `No credentials for instance "${instanceName}" (only for ${elsewhere.map((name) => `"${name}"`).join(', ')}): this instance does not read it.`
            : 'No credentials: no instance reads it.',
      };
    }
    const { instance: _instance, ...shown } = own;
    const credential = Object.fromEntries(Object.entries(shown).filter(([key]) => !['password', 'clientSecret'].includes(key))) as Omit<Credential, 'instance'>;
    return { ...base, processes: true, credential, reason: `Reads ${own.mailboxAddress} with the credentials for instance "${instanceName}".` };
  });
}
