import { parseArgs } from 'node:util';
import type { RestorePlan } from '../../sync/restore.js';
import type { SyncProblem } from '../../sync/transfer.js';
import { callApi, expectPositionals, query, report, resolveTarget, targetOptions, targetUsage } from '../api-client.js';
import { createProgress, progressWanted } from '../progress.js';
import { renderProblems, renderRestorePlan } from '../render.js';
import { UsageError } from '../usage-error.js';

export const restoreUsage = `shiplog restore PRODUCTION [--scope instance|pipeline] [--dry-run] [--confirm]

  Replaces this instance's tracked configuration and change history with those of the linked
  production instance PRODUCTION; desk data (tickets and the like) is cleared. --scope pipeline
  restores every instance between this one and production, upstream first. Without --confirm it
  only shows what would be lost and exits 2.
${targetUsage}`;

export async function restoreInstance(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...targetOptions,
      scope: { type: 'string', default: 'instance' },
      confirm: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  expectPositionals(positionals, ['PRODUCTION']);
  if (values.scope !== 'instance' && values.scope !== 'pipeline') throw new UsageError('--scope must be instance or pipeline');
  const target = resolveTarget(values);
  const path = `/v1/instances/${encodeURIComponent(positionals[0]!)}/restore${query({ dryRun: values['dry-run'] || undefined })}`;
  return report({
    json: values.json,
    call: () =>
      createProgress({ enabled: progressWanted(values.json) }).during(
        `${values['dry-run'] || !values.confirm ? 'Planning the restore from' : 'Restoring from'} ${positionals[0]}`,
        callApi<RestorePlan>(target, 'POST', path, { json: { scope: values.scope, confirm: values.confirm } }),
      ),
    render: renderRestorePlan,
    renderRefusal: (problem) => (problem.plan ? renderRestorePlan(problem.plan as RestorePlan) : renderProblems((problem.problems ?? []) as SyncProblem[])),
  });
}
