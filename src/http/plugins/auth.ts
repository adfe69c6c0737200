import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../access/agent-access.js';
import type { Permission } from '../../access/permissions.js';
import { hashCredential, sameHash } from '../../access/secrets.js';
import { CHANGE_SET_LABEL, type WriteContext } from '../../shared/actor.js';
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
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  permission: RoutePermission;
}

export const SESSION_COOKIE = 'shiplog_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function readCookie(request: FastifyRequest, name: string): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

export function setSessionCookie(reply: FastifyReply, token: string, maxAgeSeconds: number, secure: boolean): void {
  const attributes = [`${SESSION_COOKIE}=${encodeURIComponent(token)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`];
  if (secure) attributes.push('Secure');
  void reply.header('set-cookie', attributes.join('; '));
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  setSessionCookie(reply, '', 0, secure);
}

/** Where a request came from, for the audit log. */
export function requestOrigin(request: FastifyRequest): { remoteAddress: string | null; requestId: string } {
  return { remoteAddress: request.ip ?? null, requestId: request.id };
}

/** The caller, its request and its change-set label, for use cases that write. */
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
 * permission fails at start-up: access is denied by default. Cookie-authenticated writes need the CSRF token.
 */
export function registerAuth(app: FastifyInstance, services: Services, routeTable: RouteEntry[]): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('sessionHash', null);

  app.addHook('onRoute', (route) => {
    if (route.method === 'HEAD' || route.url === '*') return;
    const permission = route.config?.permission;
    if (!permission) throw new Error(`route ${String(route.method)} ${route.url} declares no permission`);
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url, permission });
  });

  // Checked before the body is read: an unauthenticated caller learns nothing about validation.
  app.addHook('onRequest', async (request) => {
    const permission = request.routeOptions.config?.permission ?? (request.url.startsWith('/v1') ? 'authenticated' : 'public');
    // Public routes ignore credentials: a stale cookie must never stand between a caller and signing in again.
    if (permission === 'public') return;
    const header = request.headers.authorization;
    if (header) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      request.principal = match?.[1] ? await services.authenticator.bearer(match[1]) : null;
    } else {
      const cookie = readCookie(request, SESSION_COOKIE);
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
    if (!request.principal) {
      const why = header ? 'The bearer token is not valid.' : 'Send a bearer token in the Authorization header, or sign in.';
      throw new DomainError('UNAUTHENTICATED', why);
    }
    if (permission !== 'authenticated' && !request.principal.permissions.has(permission)) {
      await services.audit.record({
        kind: 'access.denied',
        outcome: 'denied',
        actor: request.principal.actor,
        request: requestOrigin(request),
        subject: `${request.method} ${request.routeOptions.url ?? request.url}`,
        details: { permission, agentId: request.principal.agent.id, application: request.principal.application?.clientId ?? null },
      });
      throw new DomainError('FORBIDDEN', `This needs the "${permission}" permission.`, { permission });
    }
  });
}
