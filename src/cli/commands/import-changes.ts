import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { SyncPlan } from '../../sync/sync-service.js';
import { callApi, expectPositionals, query, report, resolveTarget, targetOptions, targetUsage } from '../api-client.js';
import { createProgress, progressWanted } from '../progress.js';
import { renderPlan } from '../render.js';
import { listValues, renderRefusedPlan } from './sync-changes.js';

export const importUsage = `shiplog import FILE [--dry-run] [--allow-missing ID]… [--idempotency-key KEY]

  Imports an export document (FILE, or - for standard input) with the same checks and plan as a
  push, all or nothing. Exits 2 when refused (or a dry run finds problems).
${targetUsage}`;

export async function importChanges(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...targetOptions,
      'dry-run': { type: 'boolean', default: false },
      'allow-missing': { type: 'string', multiple: true },
      'idempotency-key': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  expectPositionals(positionals, ['FILE']);
  const target = resolveTarget(values);
  const file = positionals[0]!;
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  const path = `/v1/changes/import${query({ dryRun: values['dry-run'] || undefined, allowMissing: listValues(values['allow-missing'])?.join(',') })}`;
  return report({
    json: values.json,
    call: () =>
      createProgress({ enabled: progressWanted(values.json) }).during(
        `${values['dry-run'] ? 'Planning the import of' : 'Importing'} ${file === '-' ? 'standard input' : file}`,
        callApi<SyncPlan>(target, 'POST', path, { text, ...(values['idempotency-key'] ? { headers: { 'idempotency-key': values['idempotency-key'] } } : {}) }),
      ),
    render: renderPlan,
    failed: (plan) => plan.problems.length > 0,
    renderRefusal: renderRefusedPlan,
  });
}
