import { infiniteQueryOptions, queryOptions } from '@tanstack/react-query';
import { api } from '../../api/client';
import { unwrap } from '../../api/problem';
import type { paths } from '../../api/schema';

type Json<P extends keyof paths, M extends 'get' | 'post', S extends number> = paths[P][M] extends { responses: Record<S, { content: { 'application/json': infer T } }> } ? T : never;

export type DeskChoices = Json<'/v1/desk/choices', 'get', 200>;
export type Customer = Json<'/v1/customers/{id}', 'get', 200>;
export type DeskUser = Json<'/v1/users/{id}', 'get', 200>;
export type Ticket = Json<'/v1/tickets/{id}', 'get', 200>;
export type TicketRow = Json<'/v1/tickets', 'get', 200>['items'][number];
export type TicketAction = Json<'/v1/tickets/{id}/actions', 'get', 200>['items'][number];
export type Asset = Json<'/v1/assets/{id}', 'get', 200>;
export type CustomerInput = NonNullable<paths['/v1/customers']['post']['requestBody']>['content']['application/json'];
export type UserInput = NonNullable<paths['/v1/users']['post']['requestBody']>['content']['application/json'];
export type TicketInput = NonNullable<paths['/v1/tickets']['post']['requestBody']>['content']['application/json'];

const PAGE = 50;

/** Names by id, and what the caller may do on the desk: read once per screen family. */
export const choicesQuery = queryOptions({
  queryKey: ['desk', 'choices'],
  staleTime: 30_000,
  queryFn: async () => unwrap(await api.GET('/v1/desk/choices')),
});

/** A ticket list: every ticket the caller sees (searched by text), a saved list, or a view list. */
export type TicketSource = { kind: 'all'; q?: string } | { kind: 'saved'; id: string } | { kind: 'view'; id: string };

export const ticketsQuery = (source: TicketSource) =>
  infiniteQueryOptions({
    queryKey: ['desk', 'tickets', source],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam, signal }) => {
      const query = { limit: PAGE, ...(pageParam ? { cursor: pageParam } : {}) };
      if (source.kind === 'saved') return unwrap(await api.GET('/v1/ticket-lists/{id}/tickets', { params: { path: { id: source.id }, query }, signal }));
      if (source.kind === 'view') return unwrap(await api.GET('/v1/view-lists/{id}/tickets', { params: { path: { id: source.id }, query }, signal }));
      return unwrap(await api.GET('/v1/tickets', { params: { query: { ...query, ...(source.q ? { q: source.q } : {}) } }, signal }));
    },
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });

export const savedListsQuery = queryOptions({
  queryKey: ['desk', 'saved-lists'],
  queryFn: async () => unwrap(await api.GET('/v1/ticket-lists', { params: { query: { limit: 200 } } })).items,
});

export const viewListsQuery = queryOptions({
  queryKey: ['desk', 'view-lists'],
  queryFn: async () => unwrap(await api.GET('/v1/view-lists')).items,
});

export const ticketQuery = (id: string) =>
  queryOptions({
    queryKey: ['desk', 'ticket', id],
    queryFn: async () => unwrap(await api.GET('/v1/tickets/{id}', { params: { path: { id } } })),
  });

export const ticketActionsQuery = (id: string) =>
  queryOptions({
    queryKey: ['desk', 'ticket', id, 'actions'],
    queryFn: async () => unwrap(await api.GET('/v1/tickets/{id}/actions', { params: { path: { id } } })).items,
  });

export const customersQuery = (q: string | undefined) =>
  infiniteQueryOptions({
    queryKey: ['desk', 'customers', q ?? ''],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam, signal }) =>
      unwrap(await api.GET('/v1/customers', { params: { query: { limit: PAGE, ...(q ? { q } : {}), ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });

/** Customers for a picker: the first 200 the caller sees, by name. */
export const customerPickerQuery = queryOptions({
  queryKey: ['desk', 'customers', 'picker'],
  queryFn: async () => unwrap(await api.GET('/v1/customers', { params: { query: { limit: 200 } } })).items,
});

export const customerQuery = (id: string) =>
  queryOptions({
    queryKey: ['desk', 'customer', id],
    queryFn: async () => unwrap(await api.GET('/v1/customers/{id}', { params: { path: { id } } })),
  });

export const usersQuery = (customerId: string) =>
  queryOptions({
    queryKey: ['desk', 'users', customerId],
    queryFn: async () => unwrap(await api.GET('/v1/users', { params: { query: { customerId, limit: 200 } } })).items,
  });

export const assetsQuery = (q: string | undefined) =>
  infiniteQueryOptions({
    queryKey: ['desk', 'assets', q ?? ''],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam, signal }) =>
      unwrap(await api.GET('/v1/assets', { params: { query: { limit: PAGE, ...(q ? { q } : {}), ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });

export const assetQuery = (id: string) =>
  queryOptions({
    queryKey: ['desk', 'asset', id],
    queryFn: async () => unwrap(await api.GET('/v1/assets/{id}', { params: { path: { id } } })),
  });

export async function createCustomer(body: CustomerInput) {
  return unwrap(await api.POST('/v1/customers', { body }));
}

export async function updateCustomer(id: string, body: Partial<CustomerInput>) {
  return unwrap(await api.PATCH('/v1/customers/{id}', { params: { path: { id } }, body }));
}

export async function createUser(body: UserInput) {
  return unwrap(await api.POST('/v1/users', { body }));
}

export async function updateUser(id: string, body: Partial<UserInput>) {
  return unwrap(await api.PATCH('/v1/users/{id}', { params: { path: { id } }, body }));
}

export async function logTicket(body: TicketInput) {
  return unwrap(await api.POST('/v1/tickets', { body }));
}

export async function addNote(id: string, note: string) {
  return unwrap(await api.POST('/v1/tickets/{id}/actions', { params: { path: { id } }, body: { kind: 'note', note } }));
}

export async function runAction(id: string, actionId: string, note: string) {
  return unwrap(await api.POST('/v1/tickets/{id}/actions', { params: { path: { id } }, body: { kind: 'workflow-action', actionId, note } }));
}

export async function saveTicketList(name: string, q: string, shared: boolean) {
  return unwrap(await api.POST('/v1/ticket-lists', { body: { name, shared, filters: q ? { q } : {} } }));
}

export async function createAsset(body: Record<string, unknown>) {
  return unwrap(await api.POST('/v1/assets', { body }));
}

export async function replaceAsset(id: string, version: string, body: Record<string, unknown>) {
  return unwrap(await api.PUT('/v1/assets/{id}', { params: { path: { id } }, body, headers: { 'if-match': `"${version}"` } }));
}

/** A name by id from the desk's choices; an id the caller cannot name stays a short id. */
export function nameOf(items: { id: string; name: string }[], id: string | null | undefined, none = '—'): string {
  if (!id) return none;
  return items.find((item) => item.id === id)?.name ?? `(${id.slice(-6)})`;
}
