import { queryOptions } from '@tanstack/react-query';
import { api } from '../../api/client';
import { unwrap } from '../../api/problem';
import type { paths } from '../../api/schema';

export type Agent = paths['/v1/agents/{id}']['get']['responses'][200]['content']['application/json'];
export type AgentCreate = NonNullable<paths['/v1/agents']['post']['requestBody']>['content']['application/json'];
export type AgentPatch = NonNullable<paths['/v1/agents/{id}']['patch']['requestBody']>['content']['application/json'];
export type Rights = paths['/v1/agents/{id}/rights']['get']['responses'][200]['content']['application/json'];
export type Application = paths['/v1/applications/{id}']['get']['responses'][200]['content']['application/json'];
export type ApplicationCreate = NonNullable<paths['/v1/applications']['post']['requestBody']>['content']['application/json'];
export type ApplicationPatch = NonNullable<paths['/v1/applications/{id}']['patch']['requestBody']>['content']['application/json'];
export type WithSecret = paths['/v1/applications']['post']['responses'][201]['content']['application/json'];

export const agentsQuery = (q: string | undefined) =>
  queryOptions({
    queryKey: ['access', 'agents', q ?? ''],
    queryFn: async ({ signal }) => unwrap(await api.GET('/v1/agents', { params: { query: { limit: 200, ...(q ? { q } : {}) } }, signal })),
  });

export const agentQuery = (id: string) =>
  queryOptions({ queryKey: ['access', 'agent', id], queryFn: async () => unwrap(await api.GET('/v1/agents/{id}', { params: { path: { id } } })) });

export const agentRightsQuery = (id: string) =>
  queryOptions({ queryKey: ['access', 'agent', id, 'rights'], queryFn: async () => unwrap(await api.GET('/v1/agents/{id}/rights', { params: { path: { id } } })) });

export const ownRightsQuery = queryOptions({ queryKey: ['access', 'me', 'rights'], queryFn: async () => unwrap(await api.GET('/v1/agents/me/rights')) });

/** The roles an agent may be given, by name (the first 200). */
export const rolesQuery = queryOptions({
  queryKey: ['config', 'roles', 'picker'],
  staleTime: 30_000,
  queryFn: async ({ signal }) => unwrap(await api.GET('/v1/config/{type}', { params: { path: { type: 'roles' }, query: { limit: 200 } }, signal })).items.map((r) => ({ id: r.id, name: r.name })),
});

/** Customers, for the co-managed customer an agent works for (the first 200). */
export const customersQuery = queryOptions({
  queryKey: ['access', 'customers'],
  staleTime: 30_000,
  queryFn: async ({ signal }) => unwrap(await api.GET('/v1/customers', { params: { query: { limit: 200 } }, signal })).items.map((c) => ({ id: c.id, name: c.name })),
});

export const applicationsQuery = (q: string | undefined) =>
  queryOptions({
    queryKey: ['access', 'applications', q ?? ''],
    queryFn: async ({ signal }) => unwrap(await api.GET('/v1/applications', { params: { query: { limit: 200, ...(q ? { q } : {}) } }, signal })),
  });

export const applicationQuery = (id: string) =>
  queryOptions({ queryKey: ['access', 'application', id], queryFn: async () => unwrap(await api.GET('/v1/applications/{id}', { params: { path: { id } } })) });

/** The document lists fields with defaults as required; the server fills in what is left out. */
type WithDefaults<T, K extends keyof T> = Pick<T, K> & Partial<T>;

export async function createAgent(body: WithDefaults<AgentCreate, 'name' | 'email'>): Promise<Agent> {
  return unwrap(await api.POST('/v1/agents', { body: body as AgentCreate }));
}

export async function updateAgent(id: string, body: AgentPatch): Promise<Agent> {
  return unwrap(await api.PATCH('/v1/agents/{id}', { params: { path: { id } }, body }));
}

export async function createApplication(body: WithDefaults<ApplicationCreate, 'name' | 'agentId'>): Promise<WithSecret> {
  return unwrap(await api.POST('/v1/applications', { body: body as ApplicationCreate }));
}

export async function updateApplication(id: string, body: ApplicationPatch): Promise<Application> {
  return unwrap(await api.PATCH('/v1/applications/{id}', { params: { path: { id } }, body }));
}

export async function rotateSecret(id: string): Promise<WithSecret> {
  return unwrap(await api.POST('/v1/applications/{id}/rotate-secret', { params: { path: { id } } }));
}
