import { infiniteQueryOptions, queryOptions } from '@tanstack/react-query';
import { api } from '../../api/client';
import { unwrap } from '../../api/problem';
import type { paths } from '../../api/schema';
import type { JsonSchema } from './json-schema';

export type CatalogType = Omit<paths['/v1/catalog']['get']['responses'][200]['content']['application/json']['types'][number], 'schema'> & { schema: JsonSchema };
export type EntityView = paths['/v1/config/{type}/{id}']['get']['responses'][200]['content']['application/json'];
export type WriteOutcome = paths['/v1/config/{type}']['post']['responses'][201]['content']['application/json'];

/** The whole catalog with schemas: fetched once, when a configuration screen first opens. */
export const catalogTypesQuery = queryOptions({
  queryKey: ['catalog', 'types'],
  staleTime: Infinity,
  queryFn: async () => unwrap(await api.GET('/v1/catalog')).types as CatalogType[],
});

export const entitiesQuery = (type: string, q: string | undefined) =>
  infiniteQueryOptions({
    queryKey: ['config', type, 'list', q ?? ''],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam, signal }) =>
      unwrap(await api.GET('/v1/config/{type}', { params: { path: { type }, query: { limit: 100, ...(q ? { q } : {}), ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });

/** Every entity of a referenced type, by name, for a picker (the first 200; a picker of more would need search). */
export const pickerQuery = (type: string) =>
  queryOptions({
    queryKey: ['config', type, 'picker'],
    staleTime: 30_000,
    queryFn: async ({ signal }) => unwrap(await api.GET('/v1/config/{type}', { params: { path: { type }, query: { limit: 200 } }, signal })).items.map((e) => ({ id: e.id, name: e.name })),
  });

export const entityQuery = (type: string, id: string) =>
  queryOptions({
    queryKey: ['config', type, 'entity', id],
    queryFn: async () => unwrap(await api.GET('/v1/config/{type}/{id}', { params: { path: { type, id } } })),
  });

function writeHeaders(changeSet: string | null, version?: string): Record<string, string> {
  return { ...(changeSet ? { 'x-change-set': changeSet } : {}), ...(version ? { 'if-match': `"${version}"` } : {}) };
}

export async function createEntity(type: string, body: Record<string, unknown>, changeSet: string | null): Promise<WriteOutcome> {
  return unwrap(await api.POST('/v1/config/{type}', { params: { path: { type } }, body, headers: writeHeaders(changeSet) }));
}

export async function replaceEntity(type: string, id: string, version: string, body: Record<string, unknown>, changeSet: string | null): Promise<WriteOutcome> {
  return unwrap(await api.PUT('/v1/config/{type}/{id}', { params: { path: { type, id } }, body, headers: writeHeaders(changeSet, version) }));
}

export async function deleteEntity(type: string, id: string, version: string, changeSet: string | null): Promise<WriteOutcome> {
  return unwrap(await api.DELETE('/v1/config/{type}/{id}', { params: { path: { type, id } }, headers: writeHeaders(changeSet, version) }));
}
