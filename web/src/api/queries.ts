import { infiniteQueryOptions, queryOptions } from '@tanstack/react-query';
import { api, setCsrfCookieName } from './client';
import { unwrap } from './problem';
import type { paths } from './schema';

export type ChangeFilters = NonNullable<paths['/v1/changes']['get']['parameters']['query']>;
export type ChangeListItem = paths['/v1/changes']['get']['responses'][200]['content']['application/json']['items'][number];
export type ChangeDetail = paths['/v1/changes/{id}']['get']['responses'][200]['content']['application/json'];
export type RollbackResult = paths['/v1/changes/{id}/rollback-before']['post']['responses'][200]['content']['application/json'];
export type InstanceView = paths['/v1/instance']['get']['responses'][200]['content']['application/json'];
export type Identity = paths['/auth/instance']['get']['responses'][200]['content']['application/json'];

export const identityQuery = queryOptions({
  queryKey: ['identity'],
  staleTime: Infinity,
  queryFn: async (): Promise<Identity> => {
    const identity = unwrap(await api.GET('/auth/instance'));
    setCsrfCookieName(identity.csrfCookie);
    return identity;
  },
});

/** This instance as the signed-in person sees it (banners, permissions); a 401 means nobody is signed in. */
export const instanceQuery = queryOptions({
  queryKey: ['instance'],
  staleTime: 30_000,
  retry: false,
  queryFn: async () => unwrap(await api.GET('/v1/instance')),
});

export const ssoQuery = queryOptions({
  queryKey: ['sso'],
  staleTime: 60_000,
  queryFn: async () => unwrap(await api.GET('/auth/sso')).items,
});

/** The catalog's type names; from the whole catalog when a configuration screen already read it (about 100 KB, not read twice). */
export const catalogQuery = queryOptions({
  queryKey: ['catalog'],
  staleTime: Infinity,
  queryFn: async ({ client }) =>
    (client.getQueryData<{ key: string; label: string }[]>(['catalog', 'types']) ?? unwrap(await api.GET('/v1/catalog')).types).map((t) => ({ key: t.key, label: t.label })),
});

export const peersQuery = queryOptions({
  queryKey: ['instances'],
  staleTime: 60_000,
  queryFn: async () => unwrap(await api.GET('/v1/instances')).items,
});

export const PAGE_SIZE = 50;

export const changesQuery = (filters: Omit<ChangeFilters, 'cursor' | 'limit'>) =>
  infiniteQueryOptions({
    queryKey: ['changes', filters],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam, signal }) =>
      unwrap(await api.GET('/v1/changes', { params: { query: { ...filters, limit: PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });

export const changeQuery = (id: string) =>
  queryOptions({
    queryKey: ['change', id],
    queryFn: async () => unwrap(await api.GET('/v1/changes/{id}', { params: { path: { id } } })),
  });

export async function rollbackBefore(id: string, dryRun: boolean): Promise<RollbackResult> {
  return unwrap(await api.POST('/v1/changes/{id}/rollback-before', { params: { path: { id }, query: { dryRun: dryRun ? 'true' : 'false' } } }));
}

export async function signIn(email: string, password: string) {
  return unwrap(await api.POST('/v1/session', { body: { email, password } }));
}

export async function signOut(): Promise<void> {
  const result = await api.DELETE('/v1/session');
  // Already signed out counts as signed out.
  if (result.response.status !== 401) unwrap(result);
}

export async function setEditingDisabled(disabled: boolean) {
  return unwrap(await api.PATCH('/v1/settings', { body: { disableConfigEditing: disabled } }));
}

/** The export document of the given changes, as the file a person downloads. */
export async function exportChanges(changeIds: string[]): Promise<Blob> {
  const data = unwrap(await api.POST('/v1/changes/export', { body: { changeIds } }));
  return new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
}
