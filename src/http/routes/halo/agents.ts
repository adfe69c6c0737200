import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AgentView } from '../../../access/agent-service.js';
import type { Services } from '../../../services.js';
import type { DeskRecordSortKey } from '../../../store/ports.js';
import { writeContext } from '../../plugins/auth.js';
import { configResource } from './config-resource.js';
import { deskRecordOrders } from './customers.js';
import { globalIdField, haloResource, idField, inHaloTerms, present, recordsOf, referenceOf, str, type AliasOf, type HaloRecord } from './resource.js';


const agentRecord = z.object({
  id: idField,
  shiplog_id: globalIdField,
  name: z.string(),
  email: z.string(),
  isdisabled: z.boolean(),
  isapiagent: z.boolean(),
  role_list: z.string().describe('The names of the roles the agent holds, comma-separated'),
  datecreated: z.string(),
});
const agentInput = z.object({ name: z.string().optional(), email: z.string().optional(), isdisabled: z.boolean().optional(), isapiagent: z.boolean().optional() });
const agentFields = { apiOnly: 'isapiagent', disabled: 'isdisabled' };

const agentToHalo = (a: AgentView, alias: AliasOf): HaloRecord => ({
  id: alias(a.id),
  shiplog_id: a.id,
  name: a.name,
  email: a.email,
  isdisabled: a.disabled,
  isapiagent: a.apiOnly,
  role_list: a.roles.map((r) => r.name).join(', '),
  datecreated: a.createdAt,
});

/** `Agent` (and `Agent/me`), `Team` and `Roles`: agents through the agent service, teams and roles as configuration. */
export const haloAgentRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    const { agents } = services;
    const agentSpec = { ids: (a: AgentView) => [a.id], toHalo: agentToHalo };

    app.get(
      '/api/Agent/me',
      {
        config: { permission: 'authenticated' },
        schema: {
          tags: ['Halo API'],
          operationId: 'haloGetAgentMe',
          summary: 'The calling agent',
          description: 'The agent the caller signed in as, or that its application logs in as.',
          response: { 200: agentRecord },
        },
      },
      async (request) => (await recordsOf(services, agentSpec, [await agents.me(request.principal!)]))[0] as z.infer<typeof agentRecord>,
    );

    await app.register(
      haloResource<AgentView, DeskRecordSortKey>(services, {
        path: 'Agent',
        one: 'Agent',
        listKey: 'agents',
        noun: 'agents',
        description: 'Agents (Halo’s Uname record); managing them is access management.',
        record: agentRecord,
        input: agentInput,
        read: 'access:manage',
        edit: 'access:manage',
        orders: deskRecordOrders,
        defaultOrder: { by: 'id', desc: false },
        list: (request, { offset, limit, order, search }) => agents.page(request.principal!, search ? { q: search } : {}, { ...order, offset, limit }),
        get: (request, id) => agents.get(request.principal!, id),
        async save(request, record, id, svc) {
          const input = present({ name: record.name, email: record.email, apiOnly: record.isapiagent, disabled: record.isdisabled });
          return inHaloTerms(null, agentFields, () => (id === null ? svc.agents.create(writeContext(request), input, request.principal!) : svc.agents.update(writeContext(request), request.principal!, id, input)));
        },
        remove: (request, id) => agents.remove(writeContext(request), request.principal!, id),
        ...agentSpec,
      }),
    );

    const ref = (record: HaloRecord, field: string, svc: Services) => (record[field] === undefined ? Promise.resolve(undefined) : referenceOf(svc, record[field], field));

    await app.register(
      configResource(services, {
        path: 'Team',
        one: 'Team',
        listKey: 'teams',
        noun: 'teams',
        type: 'teams',
        description: 'Teams (Halo’s SectionDetail record).',
        record: z.object({ id: idField, shiplog_id: globalIdField, name: z.string(), department_id: idField.nullable(), inactive: z.boolean() }),
        input: z.object({ name: z.string().optional(), department_id: z.number().int().nullable().optional() }),
        fields: { departmentId: 'department_id' },
        toBody: async (r, svc) => present({ name: r.name, departmentId: await ref(r, 'department_id', svc) }),
        ids: (v) => [v.id, str(v.body.departmentId)],
        toHalo: (v, alias) => ({ id: alias(v.id), shiplog_id: v.id, name: v.name, department_id: alias(str(v.body.departmentId)), inactive: false }),
      }),
    );

    await app.register(
      configResource(services, {
        path: 'Roles',
        one: 'Role',
        listKey: 'roles',
        noun: 'agent roles',
        type: 'roles',
        description: 'Agent roles (Halo’s NHD_Roles record, whose id is a string: the integer id as text, also in id_int). Who holds a role is access management.',
        record: z.object({ id: z.string(), id_int: idField, shiplog_id: globalIdField, name: z.string(), notes: z.string().nullable(), is_integration: z.boolean() }),
        input: z.object({ name: z.string().optional(), notes: z.string().nullable().optional() }),
        fields: { description: 'notes' },
        toBody: async (r) => present({ name: r.name, description: r.notes === null ? undefined : r.notes }),
        ids: (v) => [v.id],
        toHalo: (v, alias) => ({ id: String(alias(v.id)), id_int: alias(v.id), shiplog_id: v.id, name: v.name, notes: str(v.body.description), is_integration: false }),
      }),
    );
  };
