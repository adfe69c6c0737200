import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { agentCreateSchema, agentPatchSchema } from '../../access/agent-service.js';
import type { Services } from '../../services.js';
import { writeContext } from '../plugins/auth.js';
import { pageOf, pageQuery, problems } from '../schemas.js';
import { changeSetHeaders } from './config.js';

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
}).meta({ id: 'Agent', description: 'An agent: who it is, the roles that hold it and its effective permissions (never its password).' });

const agentCreateBody = agentCreateSchema.meta({ id: 'AgentCreate' });
const agentPatchBody = agentPatchSchema.meta({ id: 'AgentPatch' });

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
}).meta({ id: 'OwnAgent' });

const sourceSchema = z.object({ roleId: z.string(), roleName: z.string(), because: z.string().describe('The setting of the role that gives the right, in words.') });
const namedCustomer = z.object({ id: z.string(), name: z.string().nullable() });

const rightsSchema = z
  .object({
    agentId: z.string(),
    disabled: z.boolean().describe('A disabled agent holds no role and has no rights.'),
    isAdministrator: z.boolean(),
    roles: z.array(z.object({ id: z.string(), name: z.string() })).describe('The roles that give the agent rights.'),
    permissions: z.array(z.object({ permission: z.string(), grantedBy: z.array(sourceSchema) })).describe('Each permission held, with every role that gives it and why.'),
    notGranted: z.array(z.string()).describe('Permissions no role held gives.'),
    ticketPermissions: z.array(z.object({ flag: z.string(), grantedBy: z.array(sourceSchema) })),
    teams: z.array(z.object({ teamId: z.string(), teamName: z.string().nullable(), access: z.enum(['read', 'modify']), grantedBy: z.array(sourceSchema) })),
    customers: z.object({
      all: z.boolean().describe('Whether every customer is in scope; otherwise only `customers`.'),
      customers: z.array(namedCustomer),
      restrictedBy: z
        .array(z.object({ source: z.enum(['agent', 'role']), roleId: z.string().nullable(), roleName: z.string().nullable(), customers: z.array(namedCustomer) }))
        .describe("The agent's own client restrictions and each role's; the scope is what they all allow."),
    }),
  })
  .meta({ id: 'AgentRights', description: "An agent's effective rights explained: which role gives which right." });

export const agentRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/v1/agents',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          operationId: 'listAgents',
          summary: 'List agents',
          description: 'Agents by name, with their roles and effective permissions; `q` finds text in the name or email. Page with `cursor`.',
          querystring: z.object({ ...pageQuery, q: z.string().max(200).optional().describe('Text in the name or email') }),
          response: { 200: pageOf(agentViewSchema) },
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
          operationId: 'createAgent',
          summary: 'Create an agent',
          description: 'Creates an agent; the roles it is given are recorded as changes of those roles (who holds a role is access management).',
          headers: changeSetHeaders,
          body: agentCreateBody,
          response: { 201: agentViewSchema, ...problems(409, 422, 423) },
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
          operationId: 'getOwnAgent',
          summary: 'The calling agent',
          description: 'The agent the caller acts as: its roles, permissions, team memberships and ticket permissions, and what this very request may do.',
          response: { 200: ownAgentViewSchema },
        },
      },
      async (request) => services.agents.me(request.principal!),
    );

    app.get(
      '/v1/agents/me/rights',
      {
        config: { permission: 'authenticated' },
        schema: {
          tags: ['access'],
          operationId: 'getOwnAgentRights',
          summary: 'The calling agent’s rights explained',
          description: 'Which role gives the calling agent which permission, ticket permission, team and customer scope.',
          response: { 200: rightsSchema },
        },
      },
      async (request) => services.agents.ownRights(request.principal!),
    );

    app.get(
      '/v1/agents/:id/rights',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          operationId: 'getAgentRights',
          summary: 'An agent’s rights explained',
          description: 'Which role gives the agent which permission, ticket permission, team and customer scope; what no role gives is listed too.',
          params: idParams,
          response: { 200: rightsSchema, ...problems(404) },
        },
      },
      async (request) => services.agents.rights(request.principal!, request.params.id),
    );

    app.get(
      '/v1/agents/:id',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          operationId: 'getAgent',
          summary: 'Read an agent',
          description: 'One agent with its roles and effective permissions.',
          params: idParams,
          response: { 200: agentViewSchema, ...problems(404) },
        },
      },
      async (request) => services.agents.get(request.principal!, request.params.id),
    );

    app.patch(
      '/v1/agents/:id',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags: ['access'],
          operationId: 'updateAgent',
          summary: 'Change an agent',
          description: 'Only the fields sent change; `roleIds` replaces the set of roles (recorded as changes of the roles); `password: null` clears the password.',
          params: idParams,
          headers: changeSetHeaders,
          body: agentPatchBody,
          response: { 200: agentViewSchema, ...problems(404, 409, 422, 423) },
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
          operationId: 'deleteAgent',
          summary: 'Delete an agent',
          description: 'Deletes the agent and removes it from every role; refused while an API application logs in as it.',
          params: idParams,
          headers: changeSetHeaders,
          response: { 204: z.null().describe('Deleted.'), ...problems(404, 409, 423) },
        },
      },
      async (request, reply) => {
        await services.agents.remove(writeContext(request), request.principal!, request.params.id);
        return reply.status(204).send(null);
      },
    );
  };
