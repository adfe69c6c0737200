import { createHash, randomBytes } from 'node:crypto';
import type { Catalog } from '../catalog/catalog.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { isRecord } from '../shared/field-path.js';
import type { AgentRecord, EntityRecord, Stores, Transactor } from '../store/ports.js';
import type { SecretBox } from '../tracking/secret-box.js';
import { openSecret } from '../tracking/secrets.js';
import type { AuditLog } from './audit-log.js';
import { openSession, type RequestOrigin, type SessionPolicy, type SignedIn } from './session-service.js';
import { recordAnonymousRefusal, sourceOf } from './source-budget.js';

const CONNECTIONS = 'sso-connections';
const SIGN_IN = 'session.sign-in';
/** Where the identity provider sends the browser back, below the instance's public URL. */
export const SSO_CALLBACK_PATH = 'auth/sso/callback';
/** How long a sign-in may take between the redirect to the identity provider and its callback. */
const ATTEMPT_LIFETIME_MS = 10 * 60 * 1000;

/**
 * The identity provider could not be asked: its discovery document, token endpoint (with the keys that verify the ID
 * token) or userinfo endpoint did not answer, or answered an error or something that is not what the protocol says.
 * Not the signing-in person's fault.
 */
export class OidcProviderUnavailable extends Error {
  constructor(
    readonly step: 'discovery' | 'token' | 'userinfo',
    message: string,
  ) {
    super(message);
    this.name = 'OidcProviderUnavailable';
  }
}

/** Sign-in attempts: pending at once from one source (more answer 429), and stored in all (the oldest give way, expired ones first). */
export interface SsoAttemptPolicy {
  perSource: number;
  total: number;
}

export const defaultSsoAttemptPolicy: SsoAttemptPolicy = { perSource: 10, total: 10_000 };

/** An OpenID Connect relying-party client (openid-client over HTTP in production). */
export interface OidcClient {
  /**
   * The provider's authorization URL for this request (authorization code flow, PKCE S256); rejects with
   * OidcProviderUnavailable when the provider's metadata cannot be had.
   */
  authorizationUrl(connection: OidcConnection, request: { redirectUri: string; state: string; nonce: string; codeVerifier: string }): Promise<string>;
  /**
   * Exchanges the callback's code and validates the ID token (signature, issuer, audience, expiry, nonce) and the
   * state; resolves with the ID token's claims, rejects with OidcProviderUnavailable when the provider fails, and with
   * the reason otherwise.
   */
  exchange(connection: OidcConnection, callback: { url: URL; redirectUri: string; state: string; nonce: string; codeVerifier: string }): Promise<Record<string, unknown>>;
}

export interface OidcConnection {
  id: string;
  issuer: string;
  clientId: string;
  clientSecret: string | null;
  scopes: string[];
}

interface ClaimValidation {
  claim: string;
  operator: 'equals' | 'not-equals' | 'contains' | 'not-contains' | 'regex';
  value: string;
}

interface ConnectionBody {
  issuer: string;
  clientId: string;
  scopes: string[];
  instances: string[];
  claimValidations: ClaimValidation[];
  matchAgentBy: 'email' | 'third-party-id';
  enabled: boolean;
}

/** Why a single sign-on was refused: recorded in the audit log, never told to the caller. */
export type SsoRefusal =
  | 'unknown-connection'
  | 'disabled'
  | 'wrong-instance'
  | 'bad-state'
  | 'expired-state'
  | 'token-rejected'
  | 'provider-unavailable'
  | 'claims-failed'
  | 'email-not-verified'
  | 'no-agent'
  | 'agent-cannot-sign-in'
  | 'too-many-pending';

/** The value at a dotted claim path (`groups`, `realm_access.roles`). */
function claimAt(claims: Record<string, unknown>, path: string): unknown {
  let value: unknown = claims;
  for (const part of path.split('.')) value = isRecord(value) ? value[part] : undefined;
  return value;
}

/** Whether one claim validation holds: `contains` is membership for a list claim and a substring for a text claim. */
export function claimHolds(claims: Record<string, unknown>, rule: ClaimValidation): boolean {
  const value = claimAt(claims, rule.claim);
  const texts = Array.isArray(value) ? value.map(String) : value === undefined || value === null ? [] : [String(value)];
  switch (rule.operator) {
    case 'equals':
      return texts.length === 1 && texts[0] === rule.value;
    case 'not-equals':
      return !(texts.length === 1 && texts[0] === rule.value);
    case 'contains':
      return Array.isArray(value) ? texts.includes(rule.value) : texts.some((t) => t.includes(rule.value));
    case 'not-contains':
      return Array.isArray(value) ? !texts.includes(rule.value) : !texts.some((t) => t.includes(rule.value));
    case 'regex':
      return texts.some((t) => new RegExp(rule.value, 'u').test(t));
  }
}

const b64url = (bytes: number) => randomBytes(bytes).toString('base64url');
const hashOf = (state: string) => createHash('sha256').update(state).digest('hex');

export interface SsoService {
  /** The connections a sign-in page of this instance offers: enabled, and naming this instance. */
  available(): Promise<{ id: string; name: string }[]>;
  /**
   * Starts a sign-in: the identity provider's URL to send the browser to, with a redirect URI below the configured
   * public URL (never one made from the request). Without a public URL, SSO_NOT_CONFIGURED.
   */
  start(connectionId: string, origin: RequestOrigin): Promise<string>;
  /** Finishes a sign-in from the provider's callback: a console session, or SIGN_IN_REFUSED (the audit log says why). */
  finish(callbackUrl: URL, origin: RequestOrigin): Promise<SignedIn>;
}

/**
 * OpenID Connect sign-in to the console: the authorization code flow with PKCE, state and nonce, offered only on the
 * instances each connection names, and accepted only when every claim validation holds on the ID token and an agent
 * of this instance matches it. Every refusal is audited with its reason.
 */
export function createSsoService(deps: {
  db: Transactor;
  clock: Clock;
  audit: AuditLog;
  box: SecretBox;
  catalog: Catalog;
  instance: { name: string };
  policy: SessionPolicy;
  client: OidcClient;
  /** The instance's public base URL; without one, sign-ins cannot start. */
  publicUrl: URL | null;
  attempts?: SsoAttemptPolicy;
}): SsoService {
  const { db, clock, audit, box, instance, client } = deps;
  const limits = deps.attempts ?? defaultSsoAttemptPolicy;
  const def = deps.catalog.get(CONNECTIONS);

  const refused = () => new DomainError('SIGN_IN_REFUSED', 'Single sign-on did not succeed, or this agent cannot sign in to the console here.');

  async function refuse(origin: RequestOrigin, reason: SsoRefusal, details: Record<string, unknown>): Promise<never> {
    const entry = { kind: SIGN_IN, outcome: 'failure' as const, actor: null, request: origin, subject: null, details: { method: 'sso', reason, ...details } };
    const spent = await db.write((stores) => recordAnonymousRefusal(stores, audit, entry, sourceOf(origin.remoteAddress), clock.now()));
    if (spent) throw tooMany(spent.retryAfterSeconds);
    throw refused();
  }

  /** The provider failed (not the person signing in): audited, and answered as a bad gateway. */
  async function providerFailed(origin: RequestOrigin, error: OidcProviderUnavailable, details: Record<string, unknown>): Promise<never> {
    const failure = { method: 'sso', reason: 'provider-unavailable' satisfies SsoRefusal, providerStep: error.step, error: error.message.slice(0, 300), ...details };
    // Counted against the caller's source like every refusal it can cause without credentials.
    const entry = { kind: SIGN_IN, outcome: 'failure' as const, actor: null, request: origin, subject: null, details: failure };
    const spent = await db.write((stores) => recordAnonymousRefusal(stores, audit, entry, sourceOf(origin.remoteAddress), clock.now()));
    if (spent) throw tooMany(spent.retryAfterSeconds);
    throw new DomainError('SSO_PROVIDER_UNAVAILABLE', 'The identity provider could not be reached or answered an error; try again later.', {
      connectionId: details.connectionId,
      providerStep: error.step,
    });
  }

  function redirectUri(): string {
    if (deps.publicUrl) return new URL(SSO_CALLBACK_PATH, deps.publicUrl).href;
    throw new DomainError(
      'SSO_NOT_CONFIGURED',
      'Single sign-on needs the public URL this instance is reached at, to tell the identity provider where to send the browser back: start the server with --public-url or SHIPLOG_PUBLIC_URL.',
      { setting: 'SHIPLOG_PUBLIC_URL' },
    );
  }

  const tooMany = (retryAfterSeconds: number) => new DomainError('TOO_MANY_ATTEMPTS', 'Too many sign-ins from this address; wait before trying again.', { retryAfterSeconds });

  /** The connection, when it may be used on this instance; the refusal reason otherwise. */
  function usable(entity: EntityRecord | undefined): SsoRefusal | null {
    if (!entity || entity.type !== CONNECTIONS) return 'unknown-connection';
    const body = entity.body as unknown as ConnectionBody;
    if (!body.enabled) return 'disabled';
    if (!body.instances.includes(instance.name)) return 'wrong-instance';
    return null;
  }

  function connectionOf(entity: EntityRecord): OidcConnection {
    const body = entity.body as unknown as ConnectionBody;
    return { id: entity.id, issuer: body.issuer, clientId: body.clientId, clientSecret: openSecret(def, box, entity.id, entity.body, 'clientSecret'), scopes: body.scopes };
  }

  async function matchAgent(stores: Stores, body: ConnectionBody, claims: Record<string, unknown>): Promise<AgentRecord | undefined> {
    if (body.matchAgentBy === 'email') {
      if (typeof claims.email !== 'string') return undefined;
      return stores.agents.findByEmail(claims.email.toLowerCase());
    }
    if (typeof claims.sub !== 'string') return undefined;
    const agents = await stores.agents.list({ limit: 100_000 });
    return agents.find((a) => a.thirdPartyId === claims.sub);
  }

  return {
    async available() {
      const connections = await db.read((stores) => stores.entities.listAll(CONNECTIONS));
      return connections.filter((c) => usable(c) === null).map((c) => ({ id: c.id, name: c.name }));
    },

    async start(connectionId, origin) {
      const entity = await db.read((stores) => stores.entities.find(connectionId));
      const reason = usable(entity);
      if (reason) return refuse(origin, reason, { connectionId, instance: instance.name, step: 'start' });
      const callback = redirectUri();
      const state = b64url(32);
      const nonce = b64url(32);
      const codeVerifier = b64url(48);
      let url: string;
      try {
        url = await client.authorizationUrl(connectionOf(entity!), { redirectUri: callback, state, nonce, codeVerifier });
      } catch (error) {
        if (error instanceof OidcProviderUnavailable) return providerFailed(origin, error, { connectionId, step: 'start' });
        throw error;
      }
      const now = clock.now();
      const stateHash = hashOf(state);
      const source = sourceOf(origin.remoteAddress);
      const waitSeconds = await db.write(async (stores) => {
        const mine = await stores.ssoAttempts.pending(now, source);
        if (mine.count >= limits.perSource) {
          const details = { method: 'sso', reason: 'too-many-pending', connectionId };
          const spent = await recordAnonymousRefusal(stores, audit, { kind: SIGN_IN, outcome: 'failure', actor: null, request: origin, subject: null, details }, source, now);
          return spent?.retryAfterSeconds ?? Math.max(1, Math.ceil(((mine.firstExpiry ?? now) - now) / 1000));
        }
        // At the cap of all attempts stored the oldest give way: expired ones first, then those that started first.
        if ((await stores.ssoAttempts.count()) >= limits.total) {
          await stores.ssoAttempts.removeExpired(now, limits.total);
          await stores.ssoAttempts.removeOldest((await stores.ssoAttempts.count()) - limits.total + 1);
        }
        await stores.ssoAttempts.insert({
          stateHash,
          connectionId,
          verifier: box.seal(codeVerifier, `sso-attempt:${stateHash}`),
          nonce,
          redirectUri: callback,
          createdAt: now,
          expiresAt: now + ATTEMPT_LIFETIME_MS,
          source,
        });
        return null;
      });
      if (waitSeconds !== null) throw tooMany(waitSeconds);
      return url;
    },

    async finish(callbackUrl, origin) {
      const state = callbackUrl.searchParams.get('state') ?? '';
      const attempt = state ? await db.write((stores) => stores.ssoAttempts.take(hashOf(state))) : undefined;
      if (!attempt) return refuse(origin, 'bad-state', { step: 'callback' });
      if (attempt.expiresAt < clock.now()) return refuse(origin, 'expired-state', { connectionId: attempt.connectionId, step: 'callback' });
      const entity = await db.read((stores) => stores.entities.find(attempt.connectionId));
      const reason = usable(entity);
      if (reason) return refuse(origin, reason, { connectionId: attempt.connectionId, instance: instance.name, step: 'callback' });
      const body = entity!.body as unknown as ConnectionBody;
      const providerError = callbackUrl.searchParams.get('error');
      if (providerError) return refuse(origin, 'token-rejected', { connectionId: attempt.connectionId, error: providerError.slice(0, 200) });

      let claims: Record<string, unknown>;
      try {
        claims = await client.exchange(connectionOf(entity!), {
          url: callbackUrl,
          redirectUri: attempt.redirectUri,
          state,
          nonce: attempt.nonce,
          codeVerifier: box.open(attempt.verifier, `sso-attempt:${attempt.stateHash}`),
        });
      } catch (error) {
        if (error instanceof OidcProviderUnavailable) return providerFailed(origin, error, { connectionId: attempt.connectionId, step: 'callback' });
        return refuse(origin, 'token-rejected', { connectionId: attempt.connectionId, error: (error instanceof Error ? error.message : 'rejected').slice(0, 300) });
      }
      const failing = body.claimValidations.filter((rule) => !claimHolds(claims, rule));
      if (failing.length > 0) {
        return refuse(origin, 'claims-failed', { connectionId: attempt.connectionId, subject: claims.sub ?? null, failing: failing.map((r) => `${r.claim} ${r.operator} ${r.value}`) });
      }
      // An address the provider does not say it verified proves nothing: only `email_verified: true` matches by email.
      if (body.matchAgentBy === 'email' && claims.email_verified !== true) {
        const said = claims.email_verified;
        return refuse(origin, 'email-not-verified', {
          connectionId: attempt.connectionId,
          subject: claims.sub ?? null,
          emailVerified: typeof said === 'boolean' || typeof said === 'string' ? String(said).slice(0, 50) : said === undefined ? 'absent' : typeof said,
        });
      }
      type Outcome = { signedIn: SignedIn } | { refusal: SsoRefusal; agentId: string | null };
      const outcome = await db.write(async (stores): Promise<Outcome> => {
        const agent = await matchAgent(stores, body, claims);
        if (!agent) return { refusal: 'no-agent', agentId: null };
        if (agent.disabled || agent.apiOnly) return { refusal: 'agent-cannot-sign-in', agentId: agent.id };
        return { signedIn: await openSession(stores, { clock, audit, policy: deps.policy }, agent, origin, { method: 'sso', connectionId: attempt.connectionId }) };
      });
      if ('signedIn' in outcome) return outcome.signedIn;
      return refuse(origin, outcome.refusal, { connectionId: attempt.connectionId, subject: claims.sub ?? null, agentId: outcome.agentId });
    },
  };
}
