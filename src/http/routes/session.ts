import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isDomainError } from '../../shared/errors.js';
import type { Services } from '../../services.js';
import { clearSessionCookie, csrfCookieName, overHttps, requestOrigin, setSessionCookie } from '../plugins/auth.js';
import { problems } from '../schemas.js';

const agentSummary = z.object({ id: z.string(), name: z.string(), email: z.string() }).meta({ id: 'AgentSummary' });

/** What a sign-in answers, with a password or single sign-on. */
export const signedInSchema = z
  .object({ agent: agentSummary, csrfToken: z.string().describe('Send it in X-CSRF-Token with every cookie-authenticated write; the console reads it again from the CSRF cookie GET /auth/instance names.'), expiresAt: z.string() })
  .meta({ id: 'SignedIn' });

const signInBody = z
  .strictObject({
    email: z.string().trim().min(1).max(320),
    password: z.string().min(1).max(1024),
  })
  .meta({ id: 'SignIn' });

export const sessionRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/auth/instance',
      {
        config: { permission: 'public' },
        schema: {
          tags: ['session'],
          operationId: 'getSignInInstance',
          summary: 'The instance, for the sign-in screen',
          description: 'This instance’s id, name, kind and version, which the console shows before anyone signs in, and the name of the cookie the console reads its CSRF token from.',
          security: [],
          response: {
            200: z.object({ id: z.string(), name: z.string(), kind: z.string(), version: z.string(), csrfCookie: z.string() }).meta({ id: 'SignInInstance' }),
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
          operationId: 'signIn',
          summary: 'Sign in with email and password',
          description:
            'Signs in to the console: sets the httpOnly session cookie and the CSRF cookie, and returns the CSRF token. Every refusal answers 401 SIGN_IN_REFUSED, whatever the reason; repeated failures for one email from one address answer 429 with Retry-After. ' +
            'Cookie-authenticated writes must send `csrfToken` in X-CSRF-Token; the console reads it from the CSRF cookie named by GET /auth/instance.',
          security: [],
          body: signInBody,
          response: { 200: signedInSchema, ...problems(401) },
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
          operationId: 'getSession',
          summary: 'Who is signed in',
          description: 'The agent the credentials belong to, how this request was authenticated, and when a console session expires.',
          response: {
            200: z.object({
              agent: agentSummary,
              via: z.enum(['session', 'api-token', 'access-token']).describe('How this request was authenticated.'),
              expiresAt: z.string().nullable().describe("The console session's expiry; null for bearer tokens."),
            }).meta({ id: 'Session' }),
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
          operationId: 'signOut',
          summary: 'Sign out',
          description: 'Ends the console session and clears its cookie (audited); with a bearer token it only answers 204.',
          response: { 204: z.null().describe('Signed out.') },
        },
      },
      async (request, reply) => {
        if (request.sessionHash) await services.sessions.signOut(request.sessionHash, request.principal!.actor, requestOrigin(request));
        clearSessionCookie(reply, services.instance.id, overHttps(request, services.publicUrl));
        return reply.status(204).send(null);
      },
    );
  };
