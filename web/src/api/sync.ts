import { queryOptions } from '@tanstack/react-query';
import { api } from './client';
import { ApiError, isApiError, unwrap } from './problem';
import type { paths } from './schema';

export type PeerStatus = paths['/v1/instances']['get']['responses'][200]['content']['application/json']['items'][number];
export type PeerView = paths['/v1/instances/{name}']['get']['responses'][200]['content']['application/json'];
export type LinkInput = paths['/v1/instances']['post']['requestBody']['content']['application/json'];
export type PeerPatch = NonNullable<paths['/v1/instances/{name}']['patch']['requestBody']>['content']['application/json'];
export type SyncBody = NonNullable<paths['/v1/instances/{name}/push']['post']['requestBody']>['content']['application/json'];
export type SyncPlan = paths['/v1/instances/{name}/push']['post']['responses'][200]['content']['application/json'];
export type SyncProblem = SyncPlan['problems'][number];
export type RestorePlan = paths['/v1/instances/{name}/restore']['post']['responses'][200]['content']['application/json'];
export type Settings = paths['/v1/settings']['get']['responses'][200]['content']['application/json'];
export type AuditFilters = Omit<NonNullable<paths['/v1/audit']['get']['parameters']['query']>, 'cursor' | 'limit'>;
export type AuditEvent = paths['/v1/audit']['get']['responses'][200]['content']['application/json']['items'][number];
export type TransferOperation = 'push' | 'pull';

/** The entity-state diff against a peer (GET /v1/instances/{name}/diff). */
export interface StateDiff {
  peer: string;
  inSync: boolean;
  types: { type: string; here: number; there: number }[];
  onlyHere: { type: string; id: string; name: string }[];
  onlyThere: { type: string; id: string; name: string }[];
  different: { type: string; id: string; name: string; headHere: string | null; headThere: string | null; fields: { path: string; before: unknown; after: unknown }[] }[];
}

export const pipelineQuery = queryOptions({
  queryKey: ['instances', 'status'],
  staleTime: 10_000,
  queryFn: async ({ signal }) => unwrap(await api.GET('/v1/instances', { signal })).items,
});

export const peerStatusQuery = (name: string) =>
  queryOptions({
    queryKey: ['instances', 'status', name],
    staleTime: 10_000,
    queryFn: async ({ signal }) => unwrap(await api.GET('/v1/instances/{name}/status', { params: { path: { name }, query: { list: 'true' } }, signal })),
  });

export const stateDiffQuery = (name: string) =>
  queryOptions({
    queryKey: ['instances', 'diff', name],
    staleTime: 10_000,
    queryFn: async ({ signal }) => unwrap(await api.GET('/v1/instances/{name}/diff', { params: { path: { name } }, signal })) as StateDiff,
  });

export const settingsQuery = queryOptions({
  queryKey: ['settings'],
  queryFn: async () => unwrap(await api.GET('/v1/settings')),
});

export const AUDIT_PAGE = 50;

export const auditQuery = (filters: AuditFilters, cursor: string | undefined) =>
  queryOptions({
    queryKey: ['audit', filters, cursor ?? null],
    queryFn: async ({ signal }) => unwrap(await api.GET('/v1/audit', { params: { query: { ...filters, limit: AUDIT_PAGE, ...(cursor ? { cursor } : {}) } }, signal })),
  });

export async function linkInstance(input: LinkInput): Promise<PeerView> {
  return unwrap(await api.POST('/v1/instances', { body: input }));
}

export async function updateInstance(name: string, patch: PeerPatch): Promise<PeerView> {
  return unwrap(await api.PATCH('/v1/instances/{name}', { params: { path: { name } }, body: patch }));
}

export async function unlinkInstance(name: string): Promise<void> {
  unwrap(await api.DELETE('/v1/instances/{name}', { params: { path: { name } } }));
}

export async function transfer(operation: TransferOperation, name: string, body: SyncBody, options: { dryRun: boolean; idempotencyKey?: string }): Promise<SyncPlan> {
  const init = {
    params: { path: { name }, query: { dryRun: options.dryRun ? 'true' : 'false' } },
    body,
    ...(options.idempotencyKey ? { headers: { 'idempotency-key': options.idempotencyKey } } : {}),
  } as const;
  return unwrap(operation === 'push' ? await api.POST('/v1/instances/{name}/push', init) : await api.POST('/v1/instances/{name}/pull', init));
}

/** Imports an export document as the person pasted or chose it: the server parses and checks the text itself. */
export async function importChanges(text: string, options: { dryRun: boolean; idempotencyKey?: string }): Promise<SyncPlan> {
  return unwrap(
    await api.POST('/v1/changes/import', {
      params: { query: { dryRun: options.dryRun ? 'true' : 'false' } },
      body: text as never,
      bodySerializer: (body: unknown) => body as string,
      headers: { 'content-type': 'text/plain', ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}) },
    }),
  ) as SyncPlan;
}

export type ExportSelection = NonNullable<paths['/v1/changes/export']['post']['requestBody']>['content']['application/json'];

export async function exportSelection(selection: ExportSelection): Promise<Blob> {
  const data = unwrap(await api.POST('/v1/changes/export', { body: selection }));
  return new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
}

export async function restoreFrom(production: string, body: { scope: 'instance' | 'pipeline'; confirm: boolean; fingerprint?: string }, dryRun: boolean): Promise<RestorePlan> {
  return unwrap(await api.POST('/v1/instances/{name}/restore', { params: { path: { name: production }, query: { dryRun: dryRun ? 'true' : 'false' } }, body }));
}

export async function updateSettings(patch: Partial<Settings>): Promise<Settings> {
  return unwrap(await api.PATCH('/v1/settings', { body: patch }));
}

/** The plan a refused push, pull or import carries in its problem, if any. */
export function refusedPlan(error: unknown): SyncPlan | undefined {
  if (!isApiError(error)) return undefined;
  const plan = error.problem.plan;
  return plan && typeof plan === 'object' && 'counts' in plan ? (plan as SyncPlan) : undefined;
}

/** The problems a refused push, pull or import lists (with or without a plan). */
export function refusedProblems(error: unknown): SyncProblem[] {
  if (!isApiError(error)) return [];
  const problems = error.problem.problems;
  return Array.isArray(problems) ? (problems as SyncProblem[]) : (refusedPlan(error)?.problems ?? []);
}

/** The plan a refused restore carries (not confirmed, or an instance moved since), and who moved. */
export function refusedRestore(error: unknown): { plan?: RestorePlan; moved: string[] } {
  if (!(error instanceof ApiError)) return { moved: [] };
  const plan = error.problem.plan;
  const moved = Array.isArray(error.problem.moved) ? (error.problem.moved as unknown[]).map(String) : [];
  return { ...(plan && typeof plan === 'object' && 'fingerprint' in plan ? { plan: plan as RestorePlan } : {}), moved };
}

/** Download a blob as a file. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function fileStamp(): string {
  return new Date().toISOString().slice(0, 19).replaceAll(':', '');
}
