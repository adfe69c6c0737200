import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SSO_CALLBACK_PATH } from '../../access/sso-service.js';
import type { Services } from '../../services.js';
import { isDomainError } from '../../shared/errors.js';
import { cookieHeader, overHttps, readCookie, requestOrigin, setSessionCookie } from '../plugins/auth.js';
import { problems } from '../schemas.js';
import { signedInSchema } from './session.js';

/** A console path to return to: same-origin, absolute path only (never `//host` or a scheme). */
const consolePath = z
  .string()
  .max(2000)
  .regex(/^\/(?![/\\])[^\s]*$/, 'An absolute path on this instance, like /changes.');

function appendCookie(reply: FastifyReply, cookie: string): void {
  const current = reply.getHeader('set-cookie');
  const list = current === undefined ? [] : Array.isArray(current) ? current.map(String) : [String(current)];
  void reply.header('set-cookie', [...list, cookie]);
}

/** Single sign-on with OpenID Connect: the connections offered here, the redirect to the provider, and its callback. */
export const ssoRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    // Per instance, as the session cookie is: cookies ignore ports.
    const returnCookie = `shiplog_sso_return_${services.instance.id}`;
    app.get(
      '/auth/sso',
      {
        config: { permission: 'public' },
        schema: {
          tags: ['session'],
          operationId: 'listSsoConnections',
          summary: 'List single sign-on connections',
          description: 'The single sign-on connections this instance offers (enabled, and naming this instance), each with the URL that starts signing in with it.',
          response: { 200: z.object({ items: z.array(z.object({ id: z.string(), name: z.string(), startUrl: z.string() })) }) },
        },
      },
      async () => ({ items: (await services.sso.available()).map((c) => ({ ...c, startUrl: `/auth/sso/${c.id}/start` })) }),
    );

    app.get(
      '/auth/sso/:id/start',
      {
        config: { permission: 'public' },
        schema: {
          tags: ['session'],
          operationId: 'startSsoSignIn',
          summary: 'Start signing in with single sign-on',
          description:
            'Redirects to the identity provider’s authorization endpoint: the authorization code flow with PKCE (S256), a fresh state and nonce. 502 when the provider cannot be reached; 503 when the instance has no public URL.',
          params: z.object({ id: z.string().max(100) }),
          querystring: z.object({ returnTo: consolePath.optional().describe('Started from the console: the callback redirects here instead of answering JSON.') }),
          response: { 302: z.null().describe('Found: Location is the provider’s authorization URL.'), ...problems(401, 502, 503) },
        },
      },
      async (request, reply) => {
        const url = await services.sso.start(request.params.id, requestOrigin(request));
        const returnTo = request.query.returnTo;
        // Lax, not Strict: the provider sends the browser back with a cross-site navigation.
        const returning = cookieHeader(returnCookie, returnTo ?? '', { maxAgeSeconds: returnTo ? 600 : 0, secure: overHttps(request, services.publicUrl), httpOnly: true, sameSite: 'Lax' });
        return reply.header('cache-control', 'no-store').header('set-cookie', returning).redirect(url, 302);
      },
    );

    app.get(
      `/${SSO_CALLBACK_PATH}`,
      {
        config: { permission: 'public' },
        schema: {
          tags: ['session'],
          operationId: 'finishSsoSignIn',
          summary: 'Single sign-on callback',
          description:
            'The identity provider’s redirect: the state and code are checked, the ID token verified and the claims validated; then the session cookie and the CSRF token, as POST /v1/session answers — or, when the sign-in started from the console (returnTo), a 303 back there. Every refusal is 401 SIGN_IN_REFUSED (the audit log says why); a provider that fails is 502.',
          querystring: z.object({ code: z.string().max(4096).optional(), state: z.string().max(512).optional(), error: z.string().max(512).optional() }).loose(),
          response: {
            200: signedInSchema,
            303: z.null().describe('See Other: started from the console, Location is where the sign-in began (or the sign-in screen with the problem code).'),
            ...problems(401, 502, 503),
          },
        },
      },
      async (request, reply) => {
        void reply.header('cache-control', 'no-store');
        const secure = overHttps(request, services.publicUrl);
        const returnTo = consolePath.safeParse(readCookie(request, returnCookie)).data;
        try {
          // Only the query counts: the redirect URI the token request names is the one the sign-in started with.
          const signedIn = await services.sso.finish(new URL(request.url, 'http://callback.invalid'), requestOrigin(request));
          setSessionCookie(reply, services.instance.id, { session: signedIn.sessionToken, csrf: signedIn.csrfToken }, Math.floor(services.sessions.policy.lifetimeMs / 1000), secure);
          if (returnTo) return reply.redirect(returnTo, 303);
          return { agent: signedIn.agent, csrfToken: signedIn.csrfToken, expiresAt: new Date(signedIn.expiresAt).toISOString() };
        } catch (error) {
          if (!returnTo || !isDomainError(error)) throw error;
          const back = new URLSearchParams({ redirect: returnTo, problem: error.code });
          return reply.redirect(`/sign-in?${back.toString()}`, 303);
        } finally {
          if (returnTo) appendCookie(reply, cookieHeader(returnCookie, '', { maxAgeSeconds: 0, secure, httpOnly: true }));
        }
      },
    );
  };
