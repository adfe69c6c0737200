import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../access/agent-access.js';
import type { CustomerScope } from '../../access/customer-scope.js';
import type { Permission } from '../../access/permissions.js';
import { hashCredential, sameHash } from '../../access/secrets.js';
import { CHANGE_SET_LABEL, type Authority, type WriteContext } from '../../shared/actor.js';
import { DomainError } from '../../shared/errors.js';
import type { Services } from '../../services.js';

export type RoutePermission = Permission | 'public' | 'authenticated';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** The session cookie's hash when the caller signed in through the console. */
    sessionHash: string | null;
  }
  interface FastifyContextConfig {
    /** The permission this route requires; `public` for the few unauthenticated routes. Required on every route. */
    permission?: RoutePermission;
    /**
     * `every`: the route shows or moves records of every customer at once (a push, a state diff, the mail log), so a
     * caller confined by client restrictions is refused it.
     */
    customers?: 'every';
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  permission: RoutePermission;
  /** Present on routes that serve only callers who see every customer. */
  everyCustomer?: true;
}

export const CSRF_HEADER = 'x-csrf-token';

/** Cookies ignore ports: instances on one host name theirs by instance id, so signing in to one keeps the others' sessions. */
export function sessionCookieName(instanceId: string): string {
  return `shiplog_session_${instanceId}`;
}

/** The CSRF token the console reads (not httpOnly) to send in X-CSRF-Token; the session still holds only its hash. */
export function csrfCookieName(instanceId: string): string {
  return `shiplog_csrf_${instanceId}`;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function readCookie(request: FastifyRequest, name: string): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key !== name) continue;
    try {
      return decodeURIComponent(rest.join('='));
    } catch {
      // Not a cookie this instance set (they are percent-encoded UTF-8): no session.
      return null;
    }
  }
  return null;
}

export function cookieHeader(name: string, value: string, options: { maxAgeSeconds: number; secure: boolean; httpOnly: boolean; sameSite?: 'Strict' | 'Lax' }): string {
  const attributes = [`${name}=${encodeURIComponent(value)}`, 'Path=/', `SameSite=${options.sameSite ?? 'Strict'}`, `Max-Age=${options.maxAgeSeconds}`];
  if (options.httpOnly) attributes.push('HttpOnly');
  if (options.secure) attributes.push('Secure');
  return attributes.join('; ');
}

/** The session cookie (httpOnly) and the CSRF cookie the console reads; an empty token clears both. */
export function setSessionCookie(reply: FastifyReply, instanceId: string, tokens: { session: string; csrf: string }, maxAgeSeconds: number, secure: boolean): void {
  void reply.header('set-cookie', [
    cookieHeader(sessionCookieName(instanceId), tokens.session, { maxAgeSeconds, secure, httpOnly: true }),
    cookieHeader(csrfCookieName(instanceId), tokens.csrf, { maxAgeSeconds, secure, httpOnly: false }),
  ]);
}

/** Whether cookies go out `Secure`: the request came over https, or the instance is reached over https (behind a proxy that ends TLS). */
export function overHttps(request: FastifyRequest, publicUrl: URL | null): boolean {
  return request.protocol === 'https' || publicUrl?.protocol === 'https:';
}

export function clearSessionCookie(reply: FastifyReply, instanceId: string, secure: boolean): void {
  setSessionCookie(reply, instanceId, { session: '', csrf: '' }, 0, secure);
}

/** Where a request came from, for the audit log. */
export function requestOrigin(request: FastifyRequest): { remoteAddress: string | null; requestId: string } {
  return { remoteAddress: request.ip ?? null, requestId: request.id };
}

/** Whose records the caller sees: its client restrictions (an authenticated route has a principal). */
export function scopeOf(request: FastifyRequest): CustomerScope {
  if (!request.principal) throw new DomainError('UNAUTHENTICATED', 'Sign in or send a bearer token.');
  return request.principal.access.customers;
}


/** What the principal may grant: its effective rights, read fresh for this request. */
export function authorityOf(principal: Principal): Authority {
  return {
    permissions: principal.permissions,
    ticketPermissions: principal.access.ticketPermissions,
    isAdministrator: principal.isAdministrator && principal.application === null,
    viaApplication: principal.application !== null,
  };
}

/** The caller, its request, its change-set label and its authority, for use cases that write. */
export function writeContext(request: FastifyRequest): WriteContext {
  const principal = request.principal;
  if (!principal) throw new DomainError('UNAUTHENTICATED', 'Sign in or send a bearer token.');
  const header = request.headers['x-change-set'];
  const label = Array.isArray(header) ? header[0] : header;
  if (label !== undefined && !CHANGE_SET_LABEL.test(label)) {
    throw new DomainError('VALIDATION_FAILED', 'The X-Change-Set header is not a valid change-set label.', {
      errors: [{ path: 'X-Change-Set', code: 'invalid-format', message: '1–100 characters: letters, digits and . _ : / # -, starting with a letter or digit.' }],
    });
  }
  const userAgent = request.headers['user-agent'];
  return {
    actor: principal.actor,
    changeSet: label ?? null,
    authority: authorityOf(principal),
    request: {
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      requestId: request.id,
      remoteAddress: request.ip ?? null,
      userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 300) : null,
      clientApplication: principal.application ? `${principal.application.name} (${principal.application.clientId})` : null,
    },
  };
}

/**
 * Authentication on every request and authorisation declared beside each route. A route without a declared
 * permission fails at start-up: access is denied by default. Cookie-authenticated writes need the CSRF token. `limit`
 * counts each request against its caller (rate-limit.ts).
 */
export function registerAuth(app: FastifyInstance, services: Services, routeTable: RouteEntry[], limit?: (request: FastifyRequest) => void): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('sessionHash', null);

  app.addHook('onRoute', (route) => {
    if (route.method === 'HEAD' || route.url === '*') return;
    const permission = route.config?.permission;
    if (!permission) throw new Error(`route ${String(route.method)} ${route.url} declares no permission`);
    const everyCustomer = route.config?.customers === 'every' ? { everyCustomer: true as const } : {};
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url, permission, ...everyCustomer });
  });

  // Checked before the body is read: an unauthenticated caller learns nothing about validation.
  app.addHook('onRequest', async (request) => {
    const permission = request.routeOptions.config?.permission ?? (request.url.startsWith('/v1') ? 'authenticated' : 'public');
    // Public routes ignore credentials: a stale cookie must never stand between a caller and signing in again.
    if (permission === 'public') {
      limit?.(request);
      return;
    }
    const header = request.headers.authorization;
    if (header) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      request.principal = match?.[1] ? await services.authenticator.bearer(match[1]) : null;
    } else {
      const cookie = readCookie(request, sessionCookieName(services.instance.id));
      const session = cookie ? await services.authenticator.session(cookie) : null;
      if (session) {
        if (!SAFE_METHODS.has(request.method)) {
          const presented = request.headers[CSRF_HEADER];
          if (typeof presented !== 'string' || !sameHash(hashCredential(presented), session.csrfHash)) {
            throw new DomainError('CSRF_FAILED', `Cookie-authenticated writes need the ${CSRF_HEADER} header given at sign-in.`);
          }
        }
        request.principal = session.principal;
        request.sessionHash = session.sessionHash;
      }
    }
    // Counted once the caller is known (or known to be nobody), before anything else is done for it.
    limit?.(request);
    if (!request.principal) {
      const why = header ? 'The bearer token is not valid.' : 'Send a bearer token in the Authorization header, or sign in.';
      throw new DomainError('UNAUTHENTICATED', why);
    }
    const lacksPermission = permission !== 'authenticated' && !request.principal.permissions.has(permission);
    const restricted = request.routeOptions.config?.customers === 'every' && request.principal.access.customers.kind !== 'all';
    if (lacksPermission || restricted) {
      await services.audit.record({
        kind: 'access.denied',
        outcome: 'denied',
        actor: request.principal.actor,
        request: requestOrigin(request),
        subject: `${request.method} ${request.routeOptions.url ?? request.url}`,
        details: {
          permission,
          ...(lacksPermission ? {} : { reason: 'client-restrictions' }),
          agentId: request.principal.agent.id,
          application: request.principal.application?.clientId ?? null,
        },
      });
      if (lacksPermission) throw new DomainError('FORBIDDEN', `This needs the "${permission}" permission.`, { permission });
      throw new DomainError('FORBIDDEN', 'This shows or moves records of every customer: an agent restricted to some customers cannot use it.', {
        reason: 'client-restrictions',
      });
    }
  });
}
