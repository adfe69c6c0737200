import { Command, Option } from 'commander';
import type { RestorePlan } from '../../sync/restore.js';
import type { SyncProblem } from '../../sync/transfer.js';
import { callApi, LONG_WORK_TIMEOUT_S, report, resolveTarget, withTarget, type TargetValues } from '../api-client.js';
import { createProgress, progressWanted } from '../progress.js';
import { renderProblems, renderRestorePlan } from '../render.js';
import { UsageError } from '../usage-error.js';

interface RestoreValues extends TargetValues {
  scope: 'instance' | 'pipeline';
  confirm?: boolean;
  fingerprint?: string;
  dryRun?: boolean;
}

export function restoreCommand(): Command {
  const command = new Command('restore')
    .summary("replace this instance's configuration with production's")
    .description(
      "Replaces this instance's tracked configuration and change history with those of the linked production instance PRODUCTION; desk data (tickets and the like) is cleared. --scope pipeline restores every instance between this one and production too. Without --confirm it only shows, instance by instance, what would be lost, and exits 2. --confirm --fingerprint FP restores only the plan shown with that fingerprint (refused, exit 2, if an instance moved since); --confirm alone restores the plan it prints.",
    )
    .usage('PRODUCTION [--scope instance|pipeline] [--dry-run] [--confirm [--fingerprint FP]] [options]')
    .argument('<PRODUCTION>', 'the linked production instance')
    .addOption(new Option('--scope <SCOPE>', 'this instance alone, or every instance between it and production').choices(['instance', 'pipeline']).default('instance'))
    .option('--dry-run', 'show the plan; write nothing')
    .option('--confirm', 'restore')
    .option('--fingerprint <FP>', 'with --confirm: restore only the plan shown with this fingerprint');
  return withTarget(command, { timeoutS: LONG_WORK_TIMEOUT_S }).action(async (production: string, values: RestoreValues) => {
    process.exitCode = await restoreInstance(production, values);
  });
}

async function restoreInstance(production: string, values: RestoreValues): Promise<number> {
  if (values.fingerprint !== undefined && !values.confirm) throw new UsageError('--fingerprint confirms a plan: give it with --confirm');
  const target = resolveTarget(values, LONG_WORK_TIMEOUT_S);
  const path = `/v1/instances/${encodeURIComponent(production)}/restore`;
  const { scope } = values;
  const planned = () => callApi<RestorePlan>(target, 'POST', `${path}?dryRun=true`, { json: { scope } });
  const confirmed = async () => {
    // --confirm alone confirms the plan made now, and prints it as carried out.
    const fingerprint = values.fingerprint ?? (await planned()).fingerprint;
    return callApi<RestorePlan>(target, 'POST', path, { json: { scope, confirm: true, fingerprint } });
  };
  const unconfirmed = () => callApi<RestorePlan>(target, 'POST', path, { json: { scope, confirm: false } });
  const json = values.json === true;
  return report({
    json,
    call: () =>
      createProgress({ enabled: progressWanted(json) }).during(
        `${values.dryRun || !values.confirm ? 'Planning the restore from' : 'Restoring from'} ${production}`,
        values.dryRun ? planned() : values.confirm ? confirmed() : unconfirmed(),
      ),
    render: renderRestorePlan,
    renderRefusal: (problem) => (problem.plan ? renderRestorePlan(problem.plan as RestorePlan) : renderProblems((problem.problems ?? []) as SyncProblem[])),
  });
}
