import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { applicationCreateSchema, applicationPatchSchema } from '../../access/application-service.js';
import type { Services } from '../../services.js';
import { writeContext } from '../plugins/auth.js';
import { pageQuery, problemResponses } from '../schemas.js';

const idParams = z.object({ id: z.string().max(100) });

const applicationViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  clientId: z.string(),
  authenticationMethod: z.literal('client-id-and-secret'),
  loginType: z.literal('agent'),
  agentId: z.string().describe('The agent the application logs in as.'),
  permissions: z.array(z.string()).describe('Granted permissions; a token gets these intersected with the agent’s, per request.'),
  enabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  secretRotatedAt: z.string(),
});

const withSecretSchema = z.object({
  application: applicationViewSchema,
  clientSecret: z.string().describe('Shown this once: only a hash is kept. Rotate the secret if it is lost.'),
});

export const applicationRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/v1/applications',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          summary: 'List API applications',
          querystring: z.object({ ...pageQuery, q: z.string().max(200).optional().describe('Text in the name') }),
          response: { 200: z.object({ items: z.array(applicationViewSchema), nextCursor: z.string().nullable() }), ...problemResponses },
        },
      },
      async (request) => {
        const { limit, cursor, q } = request.query;
        return services.applications.list({ limit, ...(cursor ? { cursor } : {}), ...(q ? { q } : {}) });
      },
    );

    app.post(
      '/v1/applications',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          summary: 'Create an API application; the client secret is in this response only',
          body: applicationCreateSchema,
          response: { 201: withSecretSchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const created = await services.applications.create(writeContext(request), request.body);
        void reply.status(201).header('location', `/v1/applications/${created.application.id}`).header('cache-control', 'no-store');
        return created;
      },
    );

    app.get(
      '/v1/applications/:id',
      {
        config: { permission: 'access:manage' },
        schema: { tags: ['access'], summary: 'Read an API application', params: idParams, response: { 200: applicationViewSchema, ...problemResponses } },
      },
      async (request) => services.applications.get(request.params.id),
    );

    app.patch(
      '/v1/applications/:id',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          summary: 'Change an API application; disabling it or changing its agent revokes its access tokens',
          params: idParams,
          body: applicationPatchSchema,
          response: { 200: applicationViewSchema, ...problemResponses },
        },
      },
      async (request) => services.applications.update(writeContext(request), request.params.id, request.body),
    );

    app.delete(
      '/v1/applications/:id',
      {
        config: { permission: 'access:manage' },
        schema: { tags: ['access'], summary: 'Delete an API application and revoke its access tokens', params: idParams, response: { 204: z.null(), ...problemResponses } },
      },
      async (request, reply) => {
        await services.applications.remove(writeContext(request), request.params.id);
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/v1/applications/:id/rotate-secret',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          summary: 'Issue a new client secret (shown once); the old one and every access token of the application stop working at once',
          params: idParams,
          response: { 200: withSecretSchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const rotated = await services.applications.rotateSecret(writeContext(request), request.params.id);
        void reply.header('cache-control', 'no-store');
        return rotated;
      },
    );
  };
