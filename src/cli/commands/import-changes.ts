import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { SyncPlan } from '../../sync/sync-service.js';
import { callApi, LONG_WORK_TIMEOUT_S, query, report, resolveTarget, withTarget, type TargetValues } from '../api-client.js';
import { createProgress, progressWanted } from '../progress.js';
import { renderPlan } from '../render.js';
import { UsageError } from '../usage-error.js';
import { collect, listValues, renderRefusedPlan } from './sync-changes.js';

interface ImportValues extends TargetValues {
  dryRun?: boolean;
  allowMissing?: string[];
  idempotencyKey?: string;
}

export function importCommand(): Command {
  const command = new Command('import')
    .summary('apply an export document')
    .description('Imports an export document (FILE, or - for standard input) with the same checks and plan as a push, all or nothing. Exits 2 when refused (or a dry run finds problems).')
    .usage('FILE [--dry-run] [--allow-missing ID]… [--idempotency-key KEY] [options]')
    .argument('<FILE>', 'the export document, or - for standard input')
    .option('--dry-run', 'show the plan; write nothing')
    .option('--allow-missing <ID>', 'accept this change as absent although the document depends on it (repeat, or comma-separate)', collect)
    .option('--idempotency-key <KEY>', 'a retry with the same key answers the first result');
  return withTarget(command, { timeoutS: LONG_WORK_TIMEOUT_S }).action(async (file: string, values: ImportValues) => {
    process.exitCode = await importChanges(file, values);
  });
}

async function importChanges(file: string, values: ImportValues): Promise<number> {
  const target = resolveTarget(values, LONG_WORK_TIMEOUT_S);
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const json = values.json === true;
  const path = `/v1/changes/import${query({ dryRun: values.dryRun || undefined, allowMissing: listValues(values.allowMissing)?.join(',') })}`;
  return report({
    json,
    call: () =>
      createProgress({ enabled: progressWanted(json) }).during(
        `${values.dryRun ? 'Planning the import of' : 'Importing'} ${file === '-' ? 'standard input' : file}`,
        callApi<SyncPlan>(target, 'POST', path, { text, ...(values.idempotencyKey ? { headers: { 'idempotency-key': values.idempotencyKey } } : {}) }),
      ),
    render: renderPlan,
    failed: (plan) => plan.problems.length > 0,
    renderRefusal: renderRefusedPlan,
  });
}
