import { queryOptions } from '@tanstack/react-query';
import { api } from '../../api/client';
import { unwrap } from '../../api/problem';
import type { paths } from '../../api/schema';

export type PromotionRequest = paths['/v1/promotion-requests/{id}']['get']['responses'][200]['content']['application/json'];
export type PromotionSummary = paths['/v1/promotion-requests']['get']['responses'][200]['content']['application/json']['items'][number];
export type PromotionPolicy = paths['/v1/promotion-policy']['get']['responses'][200]['content']['application/json'];
export type RequestStatus = PromotionSummary['status'];

export const requestStatuses: readonly RequestStatus[] = ['pending', 'approved', 'scheduled', 'suspended', 'stale', 'rejected', 'applied', 'failed', 'cancelled'];

export const statusLooks: Record<RequestStatus, string> = {
  pending: 'bg-amber-100 text-amber-950',
  approved: 'bg-blue-100 text-blue-950',
  scheduled: 'bg-blue-100 text-blue-950',
  suspended: 'bg-red-100 text-red-950',
  stale: 'bg-red-100 text-red-950',
  rejected: 'bg-red-100 text-red-950',
  applied: 'bg-green-100 text-green-950',
  failed: 'bg-red-100 text-red-950',
  cancelled: 'bg-slate-200 text-slate-800',
};

export const promotionPolicyQuery = queryOptions({
  queryKey: ['promotion-policy'],
  queryFn: async ({ signal }) => unwrap(await api.GET('/v1/promotion-policy', { signal })),
});

export const promotionRequestsQuery = (statuses: readonly string[]) =>
  queryOptions({
    queryKey: ['promotion-requests', 'list', statuses.join(',')],
    queryFn: async ({ signal }) =>
      unwrap(await api.GET('/v1/promotion-requests', { params: { query: { limit: 100, ...(statuses.length > 0 ? { status: statuses.join(',') } : {}) } }, signal })),
  });

export const promotionRequestQuery = (id: string) =>
  queryOptions({
    queryKey: ['promotion-requests', 'one', id],
    queryFn: async ({ signal }) => unwrap(await api.GET('/v1/promotion-requests/{id}', { params: { path: { id } }, signal })),
  });

/** The entity diffs of a request's plan: a re-plan (a new revision) may change them. */
export const promotionDiffsQuery = (id: string, revision: number) =>
  queryOptions({
    queryKey: ['promotion-requests', 'diffs', id, revision],
    queryFn: async ({ signal }) => unwrap(await api.GET('/v1/promotion-requests/{id}/diffs', { params: { path: { id } }, signal })).items,
  });

/** One step on a request; each answers the request as it now is, or the server's problem. */
export type RequestAction =
  | { kind: 'approve' | 'reject'; comment: string }
  | { kind: 'apply' }
  | { kind: 'schedule'; at: string | null }
  | { kind: 'cancel'; reason: string }
  | { kind: 'replan' };

export async function actOn(id: string, action: RequestAction): Promise<PromotionRequest> {
  const path = { path: { id } };
  switch (action.kind) {
    case 'approve':
      return unwrap(await api.POST('/v1/promotion-requests/{id}/approve', { params: path, body: { comment: action.comment } }));
    case 'reject':
      return unwrap(await api.POST('/v1/promotion-requests/{id}/reject', { params: path, body: { comment: action.comment } }));
    case 'apply':
      return unwrap(await api.POST('/v1/promotion-requests/{id}/apply', { params: path, body: {} }));
    case 'schedule':
      return unwrap(await api.POST('/v1/promotion-requests/{id}/schedule', { params: path, body: { at: action.at } }));
    case 'cancel':
      return unwrap(await api.POST('/v1/promotion-requests/{id}/cancel', { params: path, body: { reason: action.reason } }));
    case 'replan':
      return unwrap(await api.POST('/v1/promotion-requests/{id}/replan', { params: path, body: {} }));
  }
}

/** A status filter as the URL holds it: known statuses only, comma-separated. */
export function parseRequestSearch(search: Record<string, unknown>): { status?: string } {
  if (typeof search.status !== 'string') return {};
  const kept = search.status.split(',').filter((s) => (requestStatuses as readonly string[]).includes(s));
  return kept.length > 0 ? { status: kept.join(',') } : {};
}

/** How long ago, in the largest whole unit. */
export function age(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}
