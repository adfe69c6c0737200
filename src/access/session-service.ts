import type { Actor, RequestInfo } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import type { AgentRecord, Stores, Transactor } from '../store/ports.js';
import { reserveAttempt } from './attempt-throttle.js';
import type { AuditEntry, AuditLog } from './audit-log.js';
import { decoyHash, verifyPassword } from './passwords.js';
import { credentialPrefixes, hashCredential, mintCredential } from './secrets.js';
import { recordAnonymousRefusal, refusedForFlooding, sourceOf } from './source-budget.js';

/** Why a sign-in was refused: recorded in the audit log, never told to the caller. */
export type SignInRefusal = 'unknown-email' | 'wrong-password' | 'api-only' | 'disabled' | 'no-password' | 'throttled' | 'flooding';

export interface SessionPolicy {
  lifetimeMs: number;
  /** Failed sign-ins allowed per email and remote address within `windowMs`. */
  maxFailures: number;
  windowMs: number;
}

export const defaultSessionPolicy: SessionPolicy = { lifetimeMs: 12 * 60 * 60 * 1000, maxFailures: 5, windowMs: 60_000 };

export type RequestOrigin = Pick<RequestInfo, 'remoteAddress' | 'requestId'>;

export interface SignedIn {
  agent: { id: string; name: string; email: string };
  /** The session cookie's value: handed out once, stored only as a hash. */
  sessionToken: string;
  /** Sent back in X-CSRF-Token on cookie-authenticated writes: handed out once, stored only as a hash. */
  csrfToken: string;
  expiresAt: number;
}

export interface SessionService {
  readonly policy: SessionPolicy;
  /** Refuses with SIGN_IN_REFUSED whatever the reason (the audit log has it), or TOO_MANY_ATTEMPTS while throttled. */
  signIn(credentials: { email: string; password: string }, origin: RequestOrigin): Promise<SignedIn>;
  /** When the session expires; null when it no longer exists. */
  expiryOf(sessionHash: string): Promise<number | null>;
  signOut(sessionHash: string, actor: Actor, origin: RequestOrigin): Promise<void>;
}

const SIGN_IN = 'session.sign-in';
const SIGN_OUT = 'session.sign-out';

function refusalOf(agent: AgentRecord | undefined, passwordMatches: boolean): Exclude<SignInRefusal, 'throttled' | 'flooding'> | null {
  if (!agent) return 'unknown-email';
  if (agent.apiOnly) return 'api-only';
  if (agent.passwordHash === null) return 'no-password';
  if (!passwordMatches) return 'wrong-password';
  if (agent.disabled) return 'disabled';
  return null;
}

/**
 * Starts a console session for an agent that has proven who it is (by password or single sign-on), in the caller's
 * write transaction, and audits the sign-in with `details`.
 */
export async function openSession(
  stores: Stores,
  deps: { clock: Clock; audit: AuditLog; policy: SessionPolicy },
  agent: AgentRecord,
  origin: RequestOrigin,
  details: Record<string, unknown>,
): Promise<SignedIn> {
  const now = deps.clock.now();
  const sessionToken = mintCredential(credentialPrefixes.session);
  const csrfToken = mintCredential(credentialPrefixes.csrf);
  const expiresAt = now + deps.policy.lifetimeMs;
  await stores.sessions.insert({ tokenHash: hashCredential(sessionToken), agentId: agent.id, csrfHash: hashCredential(csrfToken), createdAt: now, expiresAt });
  await deps.audit.recordIn(stores, {
    kind: SIGN_IN,
    outcome: 'success',
    actor: { kind: 'agent', id: agent.id, name: agent.name },
    request: origin,
    subject: agent.email,
    details: { agentId: agent.id, expiresAt: new Date(expiresAt).toISOString(), ...details },
  });
  return { agent: { id: agent.id, name: agent.name, email: agent.email }, sessionToken, csrfToken, expiresAt };
}

export function createSessionService(deps: { db: Transactor; clock: Clock; audit: AuditLog; policy?: SessionPolicy }): SessionService {
  const { db, clock, audit } = deps;
  const policy = deps.policy ?? defaultSessionPolicy;


  const refused = () => new DomainError('SIGN_IN_REFUSED', 'The email or password is wrong, or this agent cannot sign in to the console.');

  return {
    policy,
    async signIn({ email: given, password }, origin) {
      const email = given.trim().toLowerCase().slice(0, 320);
      const key = `sign-in:${email}:${origin.remoteAddress ?? 'unknown'}`;
      const source = sourceOf(origin.remoteAddress);
      const failure = (details: Record<string, unknown>): AuditEntry => ({ kind: SIGN_IN, outcome: 'failure', actor: null, request: origin, subject: email, details });
      const retryAfterSeconds = await db.write(async (stores) => {
        const now = clock.now();
        // A source that has spent its budget is refused before anything is written for the email it names.
        const spent = await refusedForFlooding(stores, audit, failure({ reason: 'flooding' }), source, now);
        if (spent) return spent.retryAfterSeconds;
        const wait = await reserveAttempt(stores, key, now, policy);
        if (wait === null) return null;
        const seconds = Math.max(1, Math.ceil(wait / 1000));
        return (await recordAnonymousRefusal(stores, audit, failure({ reason: 'throttled', retryAfterSeconds: seconds }), source, now))?.retryAfterSeconds ?? seconds;
      });
      if (retryAfterSeconds !== null) throw new DomainError('TOO_MANY_ATTEMPTS', 'Too many failed sign-ins; wait before trying again.', { retryAfterSeconds });

      const candidate = await db.read((stores) => stores.agents.findByEmail(email));
      // Always one scrypt run, against a decoy when there is no hash, so timing does not tell which emails exist.
      const matches = await verifyPassword(password, candidate?.passwordHash ?? decoyHash);

      const outcome = await db.write(async (stores) => {
        const agent = candidate ? await stores.agents.find(candidate.id) : undefined;
        // A password changed while it was being checked does not count as a match.
        const reason = refusalOf(agent, matches && agent?.passwordHash === candidate?.passwordHash);
        if (reason !== null || !agent) {
          await recordAnonymousRefusal(stores, audit, failure({ reason, agentId: agent?.id ?? null }), source, clock.now());
          return null;
        }
        await stores.throttle.clear(key);
        return openSession(stores, { clock, audit, policy }, agent, origin, {});
      });
      if (!outcome) throw refused();
      return outcome;
    },

    async expiryOf(sessionHash) {
      const session = await db.read((stores) => stores.sessions.find(sessionHash));
      return session ? session.expiresAt : null;
    },

    async signOut(sessionHash, actor, origin) {
      await db.write(async (stores) => {
        const session = await stores.sessions.find(sessionHash);
        if (!session) return;
        await stores.sessions.remove(sessionHash);
        await audit.recordIn(stores, { kind: SIGN_OUT, outcome: 'success', actor, request: origin, subject: null, details: { agentId: session.agentId } });
      });
    },
  };
}
