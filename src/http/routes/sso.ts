import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SSO_CALLBACK_PATH } from '../../access/sso-service.js';
import type { Services } from '../../services.js';
import { overHttps, requestOrigin, setSessionCookie } from '../plugins/auth.js';
import { problemResponses, problemSchema } from '../schemas.js';

/** A provider that fails answers 502; an instance without a public URL cannot start a sign-in, 503. */
const providerProblems = { 502: problemSchema, 503: problemSchema };

/** Single sign-on with OpenID Connect: the connections offered here, the redirect to the provider, and its callback. */
export const ssoRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/auth/sso',
      {
        config: { permission: 'public' },
        schema: {
          tags: ['session'],
          summary: 'Single sign-on connections this instance offers (enabled, and naming this instance)',
          response: { 200: z.object({ items: z.array(z.object({ id: z.string(), name: z.string(), startUrl: z.string() })) }), ...problemResponses },
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
          summary: 'Start signing in with a connection: redirects to the identity provider (code flow with PKCE, state and nonce)',
          params: z.object({ id: z.string().max(100) }),
          response: { 302: z.null().describe('Location: the provider’s authorization URL.'), ...problemResponses, ...providerProblems },
        },
      },
      async (request, reply) => {
        const url = await services.sso.start(request.params.id, requestOrigin(request));
        return reply.header('cache-control', 'no-store').redirect(url, 302);
      },
    );

    app.get(
      `/${SSO_CALLBACK_PATH}`,
      {
        config: { permission: 'public' },
        schema: {
          tags: ['session'],
          summary: 'The identity provider’s callback: a console session cookie and the CSRF token, or 401 SIGN_IN_REFUSED',
          querystring: z.object({ code: z.string().max(4096).optional(), state: z.string().max(512).optional(), error: z.string().max(512).optional() }).loose(),
          response: {
            200: z.object({ agent: z.object({ id: z.string(), name: z.string(), email: z.string() }), csrfToken: z.string(), expiresAt: z.string() }),
            ...problemResponses,
            ...providerProblems,
          },
        },
      },
      async (request, reply) => {
        void reply.header('cache-control', 'no-store');
        // Only the query counts: the redirect URI the token request names is the one the sign-in started with.
        const signedIn = await services.sso.finish(new URL(request.url, 'http://callback.invalid'), requestOrigin(request));
        setSessionCookie(reply, signedIn.sessionToken, Math.floor(services.sessions.policy.lifetimeMs / 1000), overHttps(request, services.publicUrl));
        return { agent: signedIn.agent, csrfToken: signedIn.csrfToken, expiresAt: new Date(signedIn.expiresAt).toISOString() };
      },
    );
  };
