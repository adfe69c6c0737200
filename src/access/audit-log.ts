import type { Actor, RequestInfo, WriteContext } from '../shared/actor.js';
import { isDomainError } from '../shared/errors.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { AuditEvent, AuditOutcome, AuditQuery, Stores, Transactor } from '../store/ports.js';
import type { ServiceObserver } from '../shared/service-observer.js';

/** What happened: the kind of instance event, never holding a secret. */
export interface AuditEntry {
  kind: string;
  outcome: AuditOutcome;
  actor: Actor | null;
  request: Pick<RequestInfo, 'remoteAddress' | 'requestId'> | null;
  subject?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditLog {
  /** Records inside the caller's transaction, so the event commits with what it describes. */
  recordIn(stores: Stores, entry: AuditEntry): Promise<void>;
  /** Records on its own (for failures, whose transaction rolls back). */
  record(entry: AuditEntry): Promise<void>;
  /** Records inside the caller's transaction, or counts the event in the one recorded under `key` before. */
  coalesceIn(stores: Stores, entry: AuditEntry, key: string): Promise<void>;
  list(query: AuditQuery): Promise<AuditEvent[]>;
  /**
   * Runs a use case; when it is refused for want of authority (FORBIDDEN), the refusal is recorded as a permission
   * denial on its own (the use case's transaction rolled back), then rethrown.
   */
  denialsOf<T>(caller: Pick<WriteContext, 'actor' | 'request'>, subject: string, run: () => Promise<T>): Promise<T>;
}

export function createAuditLog(deps: { db: Transactor; clock: Clock; observer?: ServiceObserver }): AuditLog {
  const toEvent = (entry: AuditEntry): AuditEvent => {
    deps.observer?.audited?.(entry);
    const at = deps.clock.now();
    return {
      id: newId(at),
      at,
      kind: entry.kind,
      outcome: entry.outcome,
      actor: entry.actor,
      remoteAddress: entry.request?.remoteAddress ?? null,
      requestId: entry.request?.requestId ?? null,
      subject: entry.subject ?? null,
      details: entry.details ?? {},
    };
  };
  // Audit rows do not touch the change log, so they need no write lock beyond the engine's own.
  const record = (entry: AuditEntry) => deps.db.write((stores) => stores.audit.append(toEvent(entry)));
  return {
    recordIn: (stores, entry) => stores.audit.append(toEvent(entry)),
    // Audit rows do not touch the change log, so they need no write lock beyond the engine's own.
    record,
    coalesceIn: (stores, entry, key) => stores.audit.coalesce(toEvent(entry), key),
    list: (query) => deps.db.read((stores) => stores.audit.list(query)),
    async denialsOf(caller, subject, run) {
      try {
        return await run();
      } catch (error) {
        if (isDomainError(error) && error.code === 'FORBIDDEN') {
          await record({ kind: 'access.denied', outcome: 'denied', actor: caller.actor, request: caller.request, subject, details: { reason: error.message, ...error.details } });
        }
        throw error;
      }
    },
  };
}
