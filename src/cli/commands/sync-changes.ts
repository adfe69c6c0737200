import { parseArgs } from 'node:util';
import type { SyncPlan } from '../../sync/sync-service.js';
import { callApi, expectPositionals, query, report, resolveTarget, targetOptions, targetUsage } from '../api-client.js';
import { createProgress, progressWanted } from '../progress.js';
import { renderPlan, renderProblems } from '../render.js';
import type { SyncProblem } from '../../sync/transfer.js';

const selectionUsage = `  --cutoff TIME          only changes made on or before TIME (ISO 8601)
  --change ID            cherry-pick this change (repeat, or comma-separate); its dependency closure is added
  --change-set LABEL     only this change set (its dependency closure is added)
  --no-dependencies      do not add the closure (the receiver then refuses what lacks a dependency)
  --allow-missing ID     leave this change out although the selection depends on it (repeat, or comma-separate)
  --idempotency-key KEY  a retry with the same key answers the first result
  --dry-run              show the plan; write nothing`;

export const pushUsage = `shiplog push PEER [options]

  Sends the changes PEER lacks as one transaction there, and prints the plan. Exits 2 when the
  push is refused (or a dry run finds problems): every problem is listed and nothing is written.
${selectionUsage}
${targetUsage}`;

export const pullUsage = `shiplog pull PEER [options]

  Fetches the changes this instance lacks from PEER and applies them as one transaction.
  Options and exit codes as for push.`;

const listOption = { type: 'string', multiple: true } as const;

/** Repeated and comma-separated values, flattened. */
export function listValues(values: string[] | undefined): string[] | undefined {
  const list = (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return list.length > 0 ? list : undefined;
}

export function renderRefusedPlan(problem: { plan?: unknown; problems?: unknown[] }): string {
  if (problem.plan) return renderPlan(problem.plan as SyncPlan);
  return renderProblems((problem.problems ?? []) as SyncProblem[]);
}

/** `shiplog push` and `shiplog pull`: one body, one route each. */
export async function syncChanges(operation: 'push' | 'pull', argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...targetOptions,
      cutoff: { type: 'string' },
      change: listOption,
      'change-set': { type: 'string' },
      'no-dependencies': { type: 'boolean', default: false },
      'allow-missing': listOption,
      'idempotency-key': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  expectPositionals(positionals, ['PEER']);
  const target = resolveTarget(values);
  const body = {
    ...(values.cutoff ? { cutoff: values.cutoff } : {}),
    ...(listValues(values.change) ? { changeIds: listValues(values.change) } : {}),
    ...(values['change-set'] ? { changeSet: values['change-set'] } : {}),
    ...(values['no-dependencies'] ? { withDependencies: false } : {}),
    ...(listValues(values['allow-missing']) ? { allowMissing: listValues(values['allow-missing']) } : {}),
  };
  const peer = positionals[0]!;
  const path = `/v1/instances/${encodeURIComponent(peer)}/${operation}${query({ dryRun: values['dry-run'] || undefined })}`;
  return report({
    json: values.json,
    call: () =>
      createProgress({ enabled: progressWanted(values.json) }).during(
        values['dry-run'] ? `Planning the ${operation} ${operation === 'push' ? 'to' : 'from'} ${peer}` : `${operation === 'push' ? 'Pushing to' : 'Pulling from'} ${peer}`,
        callApi<SyncPlan>(target, 'POST', path, { json: body, ...(values['idempotency-key'] ? { headers: { 'idempotency-key': values['idempotency-key'] } } : {}) }),
      ),
    render: renderPlan,
    failed: (plan) => plan.problems.length > 0,
    renderRefusal: renderRefusedPlan,
  });
}
