import { parseArgs } from 'node:util';
import type { RestorePlan } from '../../sync/restore.js';
import type { SyncProblem } from '../../sync/transfer.js';
import { callApi, expectPositionals, report, resolveTarget, targetOptions, targetUsage } from '../api-client.js';
import { createProgress, progressWanted } from '../progress.js';
import { renderProblems, renderRestorePlan } from '../render.js';
import { UsageError } from '../usage-error.js';

export const restoreUsage = `shiplog restore PRODUCTION [--scope instance|pipeline] [--dry-run] [--confirm [--fingerprint FP]]

  Replaces this instance's tracked configuration and change history with those of the linked
  production instance PRODUCTION; desk data (tickets and the like) is cleared. --scope pipeline
  restores every instance between this one and production too. Without --confirm it only shows,
  instance by instance, what would be lost, and exits 2. --confirm --fingerprint FP restores only
  the plan shown with that fingerprint (refused if an instance moved since); --confirm alone
  restores the plan it prints.
${targetUsage}`;

export async function restoreInstance(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...targetOptions,
      scope: { type: 'string', default: 'instance' },
      confirm: { type: 'boolean', default: false },
      fingerprint: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  expectPositionals(positionals, ['PRODUCTION']);
  if (values.scope !== 'instance' && values.scope !== 'pipeline') throw new UsageError('--scope must be instance or pipeline');
  if (values.fingerprint !== undefined && !values.confirm) throw new UsageError('--fingerprint confirms a plan: give it with --confirm');
  const target = resolveTarget(values);
  const path = `/v1/instances/${encodeURIComponent(positionals[0]!)}/restore`;
  const planned = () => callApi<RestorePlan>(target, 'POST', `${path}?dryRun=true`, { json: { scope: values.scope } });
  const confirmed = async () => {
    // --confirm alone confirms the plan made now, and prints it as carried out.
    const fingerprint = values.fingerprint ?? (await planned()).fingerprint;
    return callApi<RestorePlan>(target, 'POST', path, { json: { scope: values.scope, confirm: true, fingerprint } });
  };
  const unconfirmed = () => callApi<RestorePlan>(target, 'POST', path, { json: { scope: values.scope, confirm: false } });
  return report({
    json: values.json,
    call: () =>
      createProgress({ enabled: progressWanted(values.json) }).during(
        `${values['dry-run'] || !values.confirm ? 'Planning the restore from' : 'Restoring from'} ${positionals[0]}`,
        values['dry-run'] ? planned() : values.confirm ? confirmed() : unconfirmed(),
      ),
    render: renderRestorePlan,
    renderRefusal: (problem) => (problem.plan ? renderRestorePlan(problem.plan as RestorePlan) : renderProblems((problem.problems ?? []) as SyncProblem[])),
  });
}
