import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Permission, Principal } from '../../access/actor-service.js';
import type { WriteContext } from '../../shared/actor.js';
import { DomainError } from '../../shared/errors.js';
import type { Services } from '../../services.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The permission this route requires; `public` for the few unauthenticated routes. Required on every route. */
    permission?: Permission | 'public' | 'authenticated';
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  permission: Permission | 'public' | 'authenticated';
}

const CHANGE_SET = /^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,99}$/;

/** The caller, its request and its change-set label, for use cases that write. */
export function writeContext(request: FastifyRequest): WriteContext {
  const principal = request.principal;
  if (!principal) throw new DomainError('UNAUTHENTICATED', 'Sign in or send a bearer token.');
  const header = request.headers['x-change-set'];
  const label = Array.isArray(header) ? header[0] : header;
  if (label !== undefined && !CHANGE_SET.test(label)) {
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
      clientApplication: null,
    },
  };
}

/**
 * Authentication on every request and authorisation declared beside each route. A route without a declared
 * permission fails at start-up: access is denied by default.
 */
export function registerAuth(app: FastifyInstance, services: Services, routeTable: RouteEntry[]): void {
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    if (route.method === 'HEAD' || route.url === '*' || route.url.startsWith('/documentation')) return;
    const permission = route.config?.permission;
    if (!permission) throw new Error(`route ${String(route.method)} ${route.url} declares no permission`);
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url, permission });
  });

  // Checked before the body is read: an unauthenticated caller learns nothing about validation.
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    if (header) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      request.principal = match?.[1] ? await services.actors.authenticate(match[1]) : null;
    }
    const permission = request.routeOptions.config?.permission ?? (request.url.startsWith('/v1') ? 'authenticated' : 'public');
    if (permission === 'public') return;
    if (!request.principal) {
      const why = request.headers.authorization ? 'The bearer token is not valid.' : 'Send a bearer token in the Authorization header.';
      throw new DomainError('UNAUTHENTICATED', why);
    }
    if (permission !== 'authenticated' && !request.principal.permissions.has(permission)) {
      throw new DomainError('FORBIDDEN', `This needs the "${permission}" permission.`, { permission });
    }
  });
}
