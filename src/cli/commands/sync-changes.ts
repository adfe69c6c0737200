import { Command } from 'commander';
import type { SyncPlan } from '../../sync/sync-service.js';
import type { SyncProblem } from '../../sync/transfer.js';
import { callApi, LONG_WORK_TIMEOUT_S, query, report, resolveTarget, withTarget, type TargetValues } from '../api-client.js';
import { createProgress, progressWanted } from '../progress.js';
import { renderPlan, renderProblems } from '../render.js';

/** Repeated and comma-separated values, flattened. */
export function listValues(values: string[] | undefined): string[] | undefined {
  const list = (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return list.length > 0 ? list : undefined;
}

/** Collects a repeated option's values. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function renderRefusedPlan(problem: { plan?: unknown; problems?: unknown[] }): string {
  if (problem.plan) return renderPlan(problem.plan as SyncPlan);
  return renderProblems((problem.problems ?? []) as SyncProblem[]);
}

interface SyncValues extends TargetValues {
  cutoff?: string;
  change?: string[];
  changeSet?: string;
  dependencies: boolean;
  allowMissing?: string[];
  idempotencyKey?: string;
  dryRun?: boolean;
}

/** `shiplog push` and `shiplog pull`: one body, one route each. */
export function syncCommand(operation: 'push' | 'pull'): Command {
  const command = new Command(operation)
    .summary(operation === 'push' ? 'send the changes a linked instance lacks (plans with --dry-run)' : 'fetch the changes this instance lacks from a linked instance (plans with --dry-run)')
    .description(
      operation === 'push'
        ? 'Sends the changes PEER lacks as one transaction there, and prints the plan. Exits 2 when the push is refused (or a dry run finds problems): every problem is listed and nothing is written.'
        : 'Fetches the changes this instance lacks from PEER and applies them as one transaction here, and prints the plan. Exits 2 when the pull is refused (or a dry run finds problems): every problem is listed and nothing is written.',
    )
    .usage('PEER [options]')
    .argument('<PEER>', 'the linked instance')
    .option('--cutoff <TIME>', 'only changes made on or before TIME (ISO 8601)')
    .option('--change <ID>', 'cherry-pick this change (repeat, or comma-separate); its dependency closure is added', collect)
    .option('--change-set <LABEL>', 'only this change set (its dependency closure is added)')
    .option('--no-dependencies', 'do not add the closure (the receiver then refuses what lacks a dependency)')
    .option('--allow-missing <ID>', 'leave this change out although the selection depends on it (repeat, or comma-separate)', collect)
    .option('--idempotency-key <KEY>', 'a retry with the same key answers the first result')
    .option('--dry-run', 'show the plan; write nothing');
  return withTarget(command, { timeoutS: LONG_WORK_TIMEOUT_S }).action(async (peer: string, values: SyncValues) => {
    process.exitCode = await syncChanges(operation, peer, values);
  });
}

async function syncChanges(operation: 'push' | 'pull', peer: string, values: SyncValues): Promise<number> {
  const target = resolveTarget(values, LONG_WORK_TIMEOUT_S);
  const changeIds = listValues(values.change);
  const allowMissing = listValues(values.allowMissing);
  const body = {
    ...(values.cutoff ? { cutoff: values.cutoff } : {}),
    ...(changeIds ? { changeIds } : {}),
    ...(values.changeSet ? { changeSet: values.changeSet } : {}),
    ...(values.dependencies ? {} : { withDependencies: false }),
    ...(allowMissing ? { allowMissing } : {}),
  };
  const json = values.json === true;
  const path = `/v1/instances/${encodeURIComponent(peer)}/${operation}${query({ dryRun: values.dryRun || undefined })}`;
  return report({
    json,
    call: () =>
      createProgress({ enabled: progressWanted(json) }).during(
        values.dryRun ? `Planning the ${operation} ${operation === 'push' ? 'to' : 'from'} ${peer}` : `${operation === 'push' ? 'Pushing to' : 'Pulling from'} ${peer}`,
        callApi<SyncPlan>(target, 'POST', path, { json: body, ...(values.idempotencyKey ? { headers: { 'idempotency-key': values.idempotencyKey } } : {}) }),
      ),
    render: renderPlan,
    failed: (plan) => plan.problems.length > 0,
    renderRefusal: renderRefusedPlan,
  });
}
