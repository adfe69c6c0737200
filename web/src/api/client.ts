import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

let csrfCookie: string | null = null;
const unauthenticatedListeners = new Set<() => void>();

/** The cookie this instance keeps the CSRF token in (GET /auth/instance names it). */
export function setCsrfCookieName(name: string): void {
  csrfCookie = name;
}

export function csrfToken(): string | null {
  if (!csrfCookie) return null;
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === csrfCookie) return decodeURIComponent(rest.join('='));
  }
  return null;
}

/** Called when the session ended or expired (a 401 from the API), so the console can ask to sign in again. */
export function onUnauthenticated(listener: () => void): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

const session: Middleware = {
  onRequest({ request }) {
    const token = csrfToken();
    if (!SAFE.has(request.method) && token) request.headers.set('x-csrf-token', token);
    return request;
  },
  onResponse({ request, response }) {
    const path = new URL(request.url).pathname;
    if (response.status === 401 && path !== '/v1/session') for (const listener of unauthenticatedListeners) listener();
    return response;
  },
};

/** The typed client: every path, parameter and answer comes from the server's OpenAPI document. */
export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(session);
