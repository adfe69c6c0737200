import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { applicationCreateSchema, applicationPatchSchema } from '../../access/application-service.js';
import type { Services } from '../../services.js';
import { writeContext } from '../plugins/auth.js';
import { pageOf, pageQuery, problems } from '../schemas.js';

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
}).meta({ id: 'Application', description: 'An API application: it logs in as an agent with the client credentials grant.' });

const applicationCreateBody = applicationCreateSchema.meta({ id: 'ApplicationCreate' });
const applicationPatchBody = applicationPatchSchema.meta({ id: 'ApplicationPatch' });

const withSecretSchema = z.object({
  application: applicationViewSchema,
  clientSecret: z.string().describe('Shown this once: only a hash is kept. Rotate the secret if it is lost.'),
}).meta({ id: 'ApplicationWithSecret' });

export const applicationRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/v1/applications',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          operationId: 'listApplications',
          summary: 'List API applications',
          description: 'API applications by name, with the agent each logs in as and its permissions (never a secret). Page with `cursor`.',
          querystring: z.object({ ...pageQuery, q: z.string().max(200).optional().describe('Text in the name') }),
          response: { 200: pageOf(applicationViewSchema) },
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
          operationId: 'createApplication',
          summary: 'Create an API application',
          description: 'Creates an application that logs in as an agent with the permissions granted; the client secret is in this response only.',
          body: applicationCreateBody,
          response: { 201: withSecretSchema, ...problems(422) },
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
        schema: {
          tags: ['access'],
          operationId: 'getApplication',
          summary: 'Read an API application',
          description: 'One API application (never its secret).',
          params: idParams,
          response: { 200: applicationViewSchema, ...problems(404) },
        },
      },
      async (request) => services.applications.get(request.params.id),
    );

    app.patch(
      '/v1/applications/:id',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          operationId: 'updateApplication',
          summary: 'Change an API application',
          description: 'Only the fields sent change; disabling the application or changing its agent revokes its access tokens.',
          params: idParams,
          body: applicationPatchBody,
          response: { 200: applicationViewSchema, ...problems(404, 422) },
        },
      },
      async (request) => services.applications.update(writeContext(request), request.params.id, request.body),
    );

    app.delete(
      '/v1/applications/:id',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          operationId: 'deleteApplication',
          summary: 'Delete an API application',
          description: 'Deletes the application and revokes its access tokens at once.',
          params: idParams,
          response: { 204: z.null().describe('Deleted.'), ...problems(404) },
        },
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
          operationId: 'rotateApplicationSecret',
          summary: 'Rotate an application’s secret',
          description: 'Issues a new client secret, shown in this response only; the old one and every access token of the application stop working at once.',
          params: idParams,
          response: { 200: withSecretSchema, ...problems(404) },
        },
      },
      async (request, reply) => {
        const rotated = await services.applications.rotateSecret(writeContext(request), request.params.id);
        void reply.header('cache-control', 'no-store');
        return rotated;
      },
    );
  };
