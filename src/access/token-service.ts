import type { RequestInfo } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, type ErrorCode } from '../shared/errors.js';
import type { ApplicationRecord, Stores, Transactor } from '../store/ports.js';
import { reserveAttempt } from './attempt-throttle.js';
import type { AuditEntry, AuditLog } from './audit-log.js';
import { permissionsOfScope } from '../halo/scopes.js';
import { isPermission, type Permission } from './permissions.js';
import { credentialPrefixes, hashCredential, mintCredential, sameHash } from './secrets.js';
import { recordAnonymousRefusal, refusedForFlooding, sourceOf } from './source-budget.js';

export interface TokenPolicy {
  lifetimeMs: number;
  /** Token requests allowed per client id and remote address within `windowMs` before 429; a success resets the count. */
  maxFailures: number;
  windowMs: number;
}

export const defaultTokenPolicy: TokenPolicy = { lifetimeMs: 15 * 60 * 1000, maxFailures: 5, windowMs: 60_000 };

export type RequestOrigin = Pick<RequestInfo, 'remoteAddress' | 'requestId'>;

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** A client credentials grant request (RFC 6749 §4.4.2) as it arrived. */
export interface TokenRequest {
  /** The form parameters, each with every value sent; null when the body was not form-encoded. */
  params: ReadonlyMap<string, readonly string[]> | null;
  /** Credentials from the Authorization header: decoded Basic, `unusable` for another scheme or a malformed header, null when absent. */
  basic: { clientId: string; clientSecret: string } | 'unusable' | null;
  origin: RequestOrigin;
}

export interface IssuedToken {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  scope: Permission[];
}

/** Why a token request was refused: recorded in the audit log; the caller gets only the OAuth error. */
export type TokenRefusal =
  | 'not-form-encoded'
  | 'repeated-parameter'
  | 'missing-grant-type'
  | 'unsupported-grant-type'
  | 'two-authentication-methods'
  | 'unusable-authorization-header'
  | 'no-client-authentication'
  | 'throttled'
  | 'flooding'
  | 'unknown-client'
  | 'wrong-secret'
  | 'application-disabled'
  | 'agent-disabled'
  | 'invalid-scope'
  | 'no-permissions';

/** The OAuth error (RFC 6749 §5.2) each domain error code of the token endpoint stands for. */
export const oauthErrors: Partial<Record<ErrorCode, string>> = {
  OAUTH_INVALID_REQUEST: 'invalid_request',
  OAUTH_INVALID_CLIENT: 'invalid_client',
  OAUTH_UNAUTHORIZED_CLIENT: 'unauthorized_client',
  OAUTH_UNSUPPORTED_GRANT_TYPE: 'unsupported_grant_type',
  OAUTH_INVALID_SCOPE: 'invalid_scope',
  TOO_MANY_ATTEMPTS: 'slow_down',
};

const refusals: Record<TokenRefusal, { code: ErrorCode; description: string }> = {
  'not-form-encoded': { code: 'OAUTH_INVALID_REQUEST', description: 'Send the parameters as application/x-www-form-urlencoded.' },
  'repeated-parameter': { code: 'OAUTH_INVALID_REQUEST', description: 'A parameter was sent more than once.' },
  'missing-grant-type': { code: 'OAUTH_INVALID_REQUEST', description: 'The grant_type parameter is missing.' },
  'unsupported-grant-type': { code: 'OAUTH_UNSUPPORTED_GRANT_TYPE', description: 'Only the client_credentials grant is supported.' },
  'two-authentication-methods': { code: 'OAUTH_INVALID_REQUEST', description: 'Authenticate with HTTP Basic or with client_secret in the body, not both.' },
  'unusable-authorization-header': { code: 'OAUTH_INVALID_CLIENT', description: 'The Authorization header is not valid HTTP Basic client authentication.' },
  'no-client-authentication': { code: 'OAUTH_INVALID_CLIENT', description: 'Client authentication is required: HTTP Basic, or client_id and client_secret.' },
  throttled: { code: 'TOO_MANY_ATTEMPTS', description: 'Too many token requests for this client from this address; wait before trying again.' },
  flooding: { code: 'TOO_MANY_ATTEMPTS', description: 'Too many failed requests from this address; wait before trying again.' },
  'unknown-client': { code: 'OAUTH_INVALID_CLIENT', description: 'Client authentication failed.' },
  'wrong-secret': { code: 'OAUTH_INVALID_CLIENT', description: 'Client authentication failed.' },
  'application-disabled': { code: 'OAUTH_INVALID_CLIENT', description: 'Client authentication failed.' },
  'agent-disabled': { code: 'OAUTH_UNAUTHORIZED_CLIENT', description: 'The agent this application logs in as is disabled.' },
  'invalid-scope': { code: 'OAUTH_INVALID_SCOPE', description: 'The scope asks for permissions this application does not have.' },
  'no-permissions': { code: 'OAUTH_INVALID_SCOPE', description: 'This application has no permissions to grant.' },
};

export interface TokenService {
  readonly policy: TokenPolicy;
  /** Issues an access token, or throws a DomainError whose code `oauthErrors` maps to the OAuth error. Every refusal is audited. */
  issue(request: TokenRequest): Promise<IssuedToken>;
}

/** Longest client id looked up or recorded; generated ids are far shorter. */
const MAX_CLIENT_ID = 200;
const TOKEN_ISSUED = 'token.issued';
const TOKEN_REFUSED = 'token.refused';
// Compared against when the client id is unknown, so a miss costs what a wrong secret does.
const DECOY_HASH = hashCredential('shiplog decoy client secret');

interface Presented {
  method: ClientAuthMethod | null;
  clientId: string | null;
  clientSecret: string | null;
}

type Refused = { reason: TokenRefusal; extra: Record<string, unknown> };

type Checked = { ok: true; presented: Presented; scope: string | null } | { ok: false; reason: TokenRefusal; presented: Presented };

function single(params: ReadonlyMap<string, readonly string[]>, name: string): string | null {
  const values = params.get(name);
  return values && values.length > 0 ? (values[0] ?? null) : null;
}

/** The checks that need no database: parameters, grant type and which credentials were presented. */
function checkShape(request: TokenRequest): Checked {
  const { params, basic } = request;
  const fromBody = params ? { clientId: single(params, 'client_id'), clientSecret: single(params, 'client_secret') } : { clientId: null, clientSecret: null };
  const presented: Presented =
    basic && basic !== 'unusable'
      ? { method: 'client_secret_basic', clientId: basic.clientId, clientSecret: basic.clientSecret }
      : { method: fromBody.clientSecret !== null ? 'client_secret_post' : null, ...fromBody };
  presented.clientId = presented.clientId?.slice(0, MAX_CLIENT_ID) ?? null;
  const refuse = (reason: TokenRefusal): Checked => ({ ok: false, reason, presented });

  if (!params) return refuse('not-form-encoded');
  for (const name of ['grant_type', 'scope', 'client_id', 'client_secret']) if ((params.get(name)?.length ?? 0) > 1) return refuse('repeated-parameter');
  const grantType = single(params, 'grant_type');
  if (grantType === null || grantType === '') return refuse('missing-grant-type');
  if (grantType !== 'client_credentials') return refuse('unsupported-grant-type');
  if (basic !== null && fromBody.clientSecret !== null) return refuse('two-authentication-methods');
  // A client_id in the body beside Basic must name the same client.
  if (basic !== null && basic !== 'unusable' && fromBody.clientId !== null && fromBody.clientId !== basic.clientId) return refuse('two-authentication-methods');
  if (basic === 'unusable') return refuse('unusable-authorization-header');
  if (!presented.clientId || !presented.clientSecret) return refuse('no-client-authentication');
  return { ok: true, presented, scope: single(params, 'scope') };
}

/**
 * Space-separated scope tokens (RFC 6749 §3.3): Shiplog permissions, `all` or Halo's scopes (src/halo/scopes.ts); null or
 * blank means every permission of the application.
 */
function grantedScope(scope: string | null, app: ApplicationRecord): Permission[] | 'invalid-scope' | 'no-permissions' {
  const own = app.permissions.filter(isPermission);
  const asked = scope === null ? [] : scope.split(' ').filter(Boolean);
  if (asked.length === 0) return own.length > 0 ? own : 'no-permissions';
  const granted = new Set<Permission>();
  for (const token of asked) {
    const permissions = permissionsOfScope(token, own);
    if (!permissions) return 'invalid-scope';
    for (const p of permissions) granted.add(p);
  }
  return own.filter((p) => granted.has(p));
}

export function createTokenService(deps: { db: Transactor; clock: Clock; audit: AuditLog; policy?: TokenPolicy }): TokenService {
  const { db, clock, audit } = deps;
  const policy = deps.policy ?? defaultTokenPolicy;


  const refusalEntry = (request: TokenRequest, presented: Presented, reason: TokenRefusal, extra: Record<string, unknown> = {}): AuditEntry => ({
    kind: TOKEN_REFUSED,
    outcome: 'failure',
    actor: null,
    request: request.origin,
    subject: presented.clientId,
    details: { clientId: presented.clientId, reason, error: oauthErrors[refusals[reason].code], authMethod: presented.method, ...extra },
  });

  /** Audits a refusal within what its source may make the instance store; `flooding` once that is spent. */
  async function recordRefusal(stores: Stores, request: TokenRequest, presented: Presented, reason: TokenRefusal, extra: Record<string, unknown> = {}): Promise<Refused | null> {
    const spent = await recordAnonymousRefusal(stores, audit, refusalEntry(request, presented, reason, extra), sourceOf(request.origin.remoteAddress), clock.now());
    return spent ? { reason: 'flooding', extra: { retryAfterSeconds: spent.retryAfterSeconds } } : null;
  }

  function refusalError(reason: TokenRefusal, extra: Record<string, unknown> = {}): DomainError {
    const { code, description } = refusals[reason];
    return new DomainError(code, description, { reason, ...extra });
  }

  return {
    policy,
    async issue(request) {
      const shape = checkShape(request);
      if (!shape.ok) {
        const flooding = await db.write((stores) => recordRefusal(stores, request, shape.presented, shape.reason));
        throw flooding ? refusalError(flooding.reason, flooding.extra) : refusalError(shape.reason);
      }
      const { presented, scope } = shape;
      const clientId = presented.clientId!;
      const key = `token:${clientId}:${request.origin.remoteAddress ?? 'unknown'}`;

      const outcome = await db.write(async (stores): Promise<{ token: IssuedToken } | Refused> => {
        const now = clock.now();
        // A source that has spent its budget is refused before anything is written for the client it names.
        const spent = await refusedForFlooding(stores, audit, refusalEntry(request, presented, 'flooding'), sourceOf(request.origin.remoteAddress), now);
        if (spent) return { reason: 'flooding', extra: { retryAfterSeconds: spent.retryAfterSeconds } };
        const wait = await reserveAttempt(stores, key, now, policy);
        if (wait !== null) {
          const extra = { retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) };
          return (await recordRefusal(stores, request, presented, 'throttled', extra)) ?? { reason: 'throttled', extra };
        }
        const app = await stores.applications.findByClientId(clientId);
        const secretMatches = sameHash(hashCredential(presented.clientSecret!), app?.secretHash ?? DECOY_HASH);
        let reason: TokenRefusal | null = null;
        let granted: Permission[] = [];
        if (!app) reason = 'unknown-client';
        else if (!secretMatches) reason = 'wrong-secret';
        else if (!app.enabled) reason = 'application-disabled';
        else {
          const agent = await stores.agents.find(app.agentId);
          const scopes = grantedScope(scope, app);
          if (!agent || agent.disabled) reason = 'agent-disabled';
          else if (typeof scopes === 'string') reason = scopes;
          else granted = scopes;
        }
        if (reason !== null || !app) {
          const refusal = reason ?? 'unknown-client';
          const extra = { applicationId: app?.id ?? null, ...(refusal === 'invalid-scope' ? { scope: scope?.slice(0, 500) } : {}) };
          return (await recordRefusal(stores, request, presented, refusal, extra)) ?? { reason: refusal, extra: {} };
        }

        const accessToken = mintCredential(credentialPrefixes.accessToken);
        const expiresAt = now + policy.lifetimeMs;
        await stores.accessTokens.insert({ tokenHash: hashCredential(accessToken), applicationId: app.id, scopes: granted, issuedAt: now, expiresAt });
        await stores.throttle.clear(key);
        await audit.recordIn(stores, {
          kind: TOKEN_ISSUED,
          outcome: 'success',
          actor: { kind: 'application', id: app.id, name: app.name },
          request: request.origin,
          subject: app.clientId,
          details: { clientId: app.clientId, applicationId: app.id, agentId: app.agentId, scope: granted, authMethod: presented.method, expiresAt: new Date(expiresAt).toISOString() },
        });
        return { token: { accessToken, tokenType: 'Bearer', expiresIn: Math.floor(policy.lifetimeMs / 1000), scope: granted } };
      });
      if ('reason' in outcome) throw refusalError(outcome.reason, outcome.extra);
      return outcome.token;
    },
  };
}
