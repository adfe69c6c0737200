import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isDomainError } from '../../shared/errors.js';
import type { Services } from '../../services.js';
import { clearSessionCookie, csrfCookieName, overHttps, requestOrigin, setSessionCookie } from '../plugins/auth.js';
import { problemResponses, problemSchema } from '../schemas.js';

const agentSummary = z.object({ id: z.string(), name: z.string(), email: z.string() });

const signInBody = z.strictObject({
  email: z.string().trim().min(1).max(320),
  password: z.string().min(1).max(1024),
});

export const sessionRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/auth/instance',
      {
        config: { permission: 'public' },
        schema: {
          tags: ['session'],
          summary: 'What the sign-in screen shows: this instance’s name, kind and version, and the cookie the console reads its CSRF token from',
          security: [],
          response: {
            200: z.object({ id: z.string(), name: z.string(), kind: z.string(), version: z.string(), csrfCookie: z.string() }),
            ...problemResponses,
          },
        },
      },
      async () => {
        const { id, name, kind, version } = services.instance;
        return { id, name, kind, version, csrfCookie: csrfCookieName(id) };
      },
    );

    app.post(
      '/v1/session',
      {
        config: { permission: 'public' },
        schema: {
          tags: ['session'],
          summary: 'Sign in to the console: sets an httpOnly session cookie and returns the CSRF token (shown only here)',
          description:
            'Every refusal answers 401 SIGN_IN_REFUSED, whatever the reason; repeated failures for one email from one address answer 429 with Retry-After. ' +
            'Cookie-authenticated writes must send `csrfToken` in X-CSRF-Token; the console reads it from the CSRF cookie named by GET /auth/instance.',
          security: [],
          body: signInBody,
          response: {
            200: z.object({ agent: agentSummary, csrfToken: z.string(), expiresAt: z.string() }),
            ...problemResponses,
            429: problemSchema,
          },
        },
      },
      async (request, reply) => {
        void reply.header('cache-control', 'no-store');
        try {
          const signedIn = await services.sessions.signIn(request.body, requestOrigin(request));
          const maxAge = Math.floor(services.sessions.policy.lifetimeMs / 1000);
          setSessionCookie(reply, services.instance.id, { session: signedIn.sessionToken, csrf: signedIn.csrfToken }, maxAge, overHttps(request, services.publicUrl));
          return { agent: signedIn.agent, csrfToken: signedIn.csrfToken, expiresAt: new Date(signedIn.expiresAt).toISOString() };
        } catch (error) {
          if (isDomainError(error) && typeof error.details.retryAfterSeconds === 'number') void reply.header('retry-after', String(error.details.retryAfterSeconds));
          throw error;
        }
      },
    );

    app.get(
      '/v1/session',
      {
        config: { permission: 'authenticated' },
        schema: {
          tags: ['session'],
          summary: 'Who is signed in, and until when',
          response: {
            200: z.object({
              agent: agentSummary,
              via: z.enum(['session', 'api-token', 'access-token']).describe('How this request was authenticated.'),
              expiresAt: z.string().nullable().describe("The console session's expiry; null for bearer tokens."),
            }),
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const principal = request.principal!;
        const expiresAt = request.sessionHash ? await services.sessions.expiryOf(request.sessionHash) : null;
        const { id, name, email } = principal.agent;
        return { agent: { id, name, email }, via: principal.via, expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() };
      },
    );

    app.delete(
      '/v1/session',
      {
        config: { permission: 'authenticated' },
        schema: {
          tags: ['session'],
          summary: 'Sign out: ends the console session and clears its cookie',
          response: { 204: z.null().describe('Signed out.'), ...problemResponses },
        },
      },
      async (request, reply) => {
        if (request.sessionHash) await services.sessions.signOut(request.sessionHash, request.principal!.actor, requestOrigin(request));
        clearSessionCookie(reply, services.instance.id, overHttps(request, services.publicUrl));
        return reply.status(204).send(null);
      },
    );
  };
