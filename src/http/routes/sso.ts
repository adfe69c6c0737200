import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SSO_CALLBACK_PATH } from '../../access/sso-service.js';
import type { Services } from '../../services.js';
import { overHttps, requestOrigin, setSessionCookie } from '../plugins/auth.js';
import { problems } from '../schemas.js';
import { signedInSchema } from './session.js';

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
          response: { 302: z.null().describe('Found: Location is the provider’s authorization URL.'), ...problems(401, 502, 503) },
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
          operationId: 'finishSsoSignIn',
          summary: 'Single sign-on callback',
          description:
            'The identity provider’s redirect: the state and code are checked, the ID token verified and the claims validated; then the session cookie and the CSRF token, as POST /v1/session answers. Every refusal is 401 SIGN_IN_REFUSED (the audit log says why); a provider that fails is 502.',
          querystring: z.object({ code: z.string().max(4096).optional(), state: z.string().max(512).optional(), error: z.string().max(512).optional() }).loose(),
          response: { 200: signedInSchema, ...problems(401, 502, 503) },
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
