import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { agentCreateSchema, agentPatchSchema } from '../../access/agent-service.js';
import type { Services } from '../../services.js';
import { writeContext } from '../plugins/auth.js';
import { pageQuery, problemResponses } from '../schemas.js';

const idParams = z.object({ id: z.string().max(100) });

const agentViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string(),
  apiOnly: z.boolean(),
  disabled: z.boolean(),
  thirdPartyId: z.string().nullable(),
  hasPassword: z.boolean().describe('Whether a console password is set; the password itself is never returned.'),
  clientRestrictions: z.object({ allowAllCustomers: z.boolean(), customerIds: z.array(z.string()) }),
  coManagedCustomerId: z.string().nullable(),
  customerGroupOverrideId: z.string().nullable(),
  roles: z.array(z.object({ id: z.string(), name: z.string() })).describe('Roles that hold this agent.'),
  permissions: z.array(z.string()).describe('Effective permissions from the roles held; none while disabled.'),
  isAdministrator: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const ownAgentViewSchema = agentViewSchema.extend({
  ticketPermissions: z.array(z.string()),
  teamMemberships: z.array(z.object({ teamId: z.string(), access: z.enum(['read', 'modify']) })),
  effective: z
    .object({
      via: z.enum(['api-token', 'access-token', 'session']),
      application: z.object({ id: z.string(), name: z.string(), clientId: z.string() }).nullable(),
      permissions: z.array(z.string()),
      isAdministrator: z.boolean(),
    })
    .describe("What this request may do: the agent's rights, intersected with the application's when one acts for it."),
});

export const agentRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/v1/agents',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          summary: 'List agents',
          querystring: z.object({ ...pageQuery, q: z.string().max(200).optional().describe('Text in the name or email') }),
          response: { 200: z.object({ items: z.array(agentViewSchema), nextCursor: z.string().nullable() }), ...problemResponses },
        },
      },
      async (request) => {
        const { limit, cursor, q } = request.query;
        return services.agents.list(request.principal!, { limit, ...(cursor ? { cursor } : {}), ...(q ? { q } : {}) });
      },
    );

    app.post(
      '/v1/agents',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          summary: 'Create an agent; role assignments are recorded as changes of the roles',
          body: agentCreateSchema,
          response: { 201: agentViewSchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const view = await services.agents.create(writeContext(request), request.body, request.principal!);
        void reply.status(201).header('location', `/v1/agents/${view.id}`);
        return view;
      },
    );

    app.get(
      '/v1/agents/me',
      {
        config: { permission: 'authenticated' },
        schema: {
          tags: ['access'],
          summary: 'The calling agent: roles, permissions, team memberships and ticket permissions',
          response: { 200: ownAgentViewSchema, ...problemResponses },
        },
      },
      async (request) => services.agents.me(request.principal!),
    );

    app.get(
      '/v1/agents/:id',
      {
        config: { permission: 'access:manage' },
        schema: { tags: ['access'], summary: 'Read an agent', params: idParams, response: { 200: agentViewSchema, ...problemResponses } },
      },
      async (request) => services.agents.get(request.principal!, request.params.id),
    );

    app.patch(
      '/v1/agents/:id',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          summary: 'Change an agent: only the fields sent change; roleIds replaces the set of roles; password null clears it',
          params: idParams,
          body: agentPatchSchema,
          response: { 200: agentViewSchema, ...problemResponses },
        },
      },
      async (request) => services.agents.update(writeContext(request), request.principal!, request.params.id, request.body),
    );

    app.delete(
      '/v1/agents/:id',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          summary: 'Delete an agent (refused while an API application logs in as it); removes it from every role',
          params: idParams,
          response: { 204: z.null().describe('Deleted.'), ...problemResponses },
        },
      },
      async (request, reply) => {
        await services.agents.remove(writeContext(request), request.principal!, request.params.id);
        return reply.status(204).send(null);
      },
    );
  };
