import type { Catalog } from '../catalog/catalog.js';
import type { Clock } from '../shared/clock.js';
import type { InboundMailRecord, Transactor } from '../store/ports.js';
import { decodeCursor } from '../tracking/cursor.js';
import { pageOf, type Page } from './customer-service.js';
import type { SecretBox } from '../tracking/secret-box.js';
import { openSecret } from '../tracking/secrets.js';
import type { MailReader } from './inbound-mail.js';
import { readableMailboxes, type MailCheck } from './mailboxes.js';
import type { TicketService } from './ticket-service.js';

export interface MailPollerOptions {
  /** How often each mailbox is checked for new mail. */
  pollMs?: number;
  /** Messages read from one mailbox per check; the rest wait for the next. */
  maxMessages?: number;
  /** Messages larger than this are left unread (and reported as skipped). */
  maxBytes?: number;
}

/** One entry of the mail log, as the API shows it. */
export type InboundMailView = Omit<InboundMailRecord, 'receivedAt'> & { receivedAt: string };

/** How one mailbox's check went, named. */
export type MailboxCheck = MailCheck & { mailboxId: string; name: string };

/** Reads the mailboxes this instance processes, on a timer once started, or at once on request. */
export interface MailPoller {
  /** The mail log, newest first: what was done with each message read. */
  messages(query: { limit: number; cursor?: string; mailboxId?: string; outcome?: InboundMailRecord['outcome'] }): Promise<Page<InboundMailView>>;
  /** Checks every mailbox this instance reads now (after a check under way), and says how each went. */
  checkNow(): Promise<MailboxCheck[]>;
  lastChecks(): ReadonlyMap<string, MailCheck>;
  /** When each mailbox this process reads was last read without an error (ms since the epoch); since start when never. */
  lastReads(): ReadonlyMap<string, number>;
  start(): void;
  stop(): Promise<void>;
}

export function createMailPoller(deps: {
  db: Transactor;
  catalog: Catalog;
  box: SecretBox;
  clock: Clock;
  instance: { name: string };
  reader: MailReader;
  tickets: Pick<TicketService, 'receiveMail'>;
  options?: MailPollerOptions;
}): MailPoller {
  const { db, box, clock, reader, tickets } = deps;
  const pollMs = deps.options?.pollMs ?? 60_000;
  const limits = { maxMessages: deps.options?.maxMessages ?? 50, maxBytes: deps.options?.maxBytes ?? 10 * 1024 * 1024 };
  const checks = new Map<string, MailCheck>();
  const reads = new Map<string, number>();
  const startedAt = clock.now();
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  let tail: Promise<unknown> = Promise.resolve();

  async function checkAll(): Promise<MailboxCheck[]> {
    const mailboxes = await db.read((stores) => readableMailboxes(stores, deps.instance.name));
    const made: MailboxCheck[] = [];
    for (const { source, mailbox, credential, account } of mailboxes) {
      const password = openSecret(deps.catalog.get('mailboxes'), box, mailbox.id, mailbox.body, `credentials[${credential.id}].password`) ?? '';
      let check: MailCheck;
      try {
        const { read, skipped } = await reader.read({ ...account, password }, async (message) => void (await tickets.receiveMail(source, message)), limits);
        check = { at: new Date(clock.now()).toISOString(), ok: true, read, skipped, error: null };
      } catch (error) {
        const text = error instanceof Error ? error.message : 'the mailbox could not be read';
        check = { at: new Date(clock.now()).toISOString(), ok: false, read: 0, skipped: 0, error: password ? text.split(password).join('[secret]') : text };
      }
      checks.set(source.id, check);
      if (check.ok) reads.set(source.id, clock.now());
      else if (!reads.has(source.id)) reads.set(source.id, startedAt);
      made.push({ mailboxId: source.id, name: source.name, ...check });
    }
    // A mailbox no longer read here keeps no stale check.
    for (const id of [...checks.keys()]) {
      if (mailboxes.some((m) => m.source.id === id)) continue;
      checks.delete(id);
      reads.delete(id);
    }
    return made;
  }

  function schedule(): void {
    if (!started) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      void poller
        .checkNow()
        // A check that failed as a whole (the database away) is tried again at the next poll.
        .catch(() => undefined)
        .finally(schedule);
    }, pollMs);
    timer.unref();
  }

  const poller: MailPoller = {
    async messages({ limit, cursor, mailboxId, outcome }) {
      const rows = await db.read((stores) =>
        stores.desk.listInboundMail({ limit: limit + 1, ...(mailboxId ? { mailboxId } : {}), ...(outcome ? { outcome } : {}), ...(cursor ? { beforeId: decodeCursor(cursor) } : {}) }),
      );
      return pageOf(rows, limit, (r) => ({ ...r, receivedAt: new Date(r.receivedAt).toISOString() }));
    },
    checkNow() {
      // One check at a time: two would read the same messages at once.
      const run = tail.then(checkAll, checkAll);
      tail = run.catch(() => undefined);
      return run;
    },
    lastChecks: () => checks,
    lastReads: () => reads,
    start() {
      if (started) return;
      started = true;
      void poller
        .checkNow()
        .catch(() => undefined)
        .finally(schedule);
    },
    async stop() {
      started = false;
      clearTimeout(timer);
      await tail;
    },
  };
  return poller;
}
