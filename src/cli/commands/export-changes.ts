import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import type { ExportDocument } from '../../sync/export-document.js';
import { callApi, LONG_WORK_TIMEOUT_S, resolveTarget, withTarget, type TargetValues } from '../api-client.js';
import { createProgress, progressWanted } from '../progress.js';
import { UsageError } from '../usage-error.js';
import { collect, listValues } from './sync-changes.js';

interface ExportValues extends TargetValues {
  change?: string[];
  changeSet?: string;
  from?: string;
  to?: string;
  peer?: string;
  out?: string;
}

export function exportCommand(): Command {
  const command = new Command('export')
    .summary('write selected changes to a JSON document')
    .description(
      'Writes selected changes as a versioned, checksummed JSON document (secrets stay encrypted) to FILE or standard output: shiplog export --change-set onboarding > changes.json',
    )
    .usage('[--change ID]… [--change-set LABEL] [--from TIME] [--to TIME] [--peer PEER] [--out FILE] [options]')
    .option('--change <ID>', 'export this change (repeat, or comma-separate)', collect)
    .option('--change-set <LABEL>', 'export this change set')
    .option('--from <TIME>', 'changes made at or after TIME (ISO 8601)')
    .option('--to <TIME>', 'changes made at or before TIME (ISO 8601)')
    .option('--peer <PEER>', 'add the dependency closure the linked instance PEER lacks')
    .option('--out <FILE>', 'write the document to FILE instead of standard output');
  return withTarget(command, { json: false, timeoutS: LONG_WORK_TIMEOUT_S }).action(async (values: ExportValues) => exportChanges(values));
}

async function exportChanges(values: ExportValues): Promise<void> {
  const changeIds = listValues(values.change);
  if (!changeIds && !values.changeSet && !values.from && !values.to) throw new UsageError('name what to export: --change, --change-set, --from or --to');
  const target = resolveTarget(values, LONG_WORK_TIMEOUT_S);
  const progress = createProgress({ enabled: progressWanted(false) });
  const text = await callApi<string>(target, 'POST', '/v1/changes/export', {
    json: {
      ...(changeIds ? { changeIds } : {}),
      ...(values.changeSet ? { changeSet: values.changeSet } : {}),
      ...(values.from ? { from: values.from } : {}),
      ...(values.to ? { to: values.to } : {}),
      ...(values.peer ? { peer: values.peer } : {}),
    },
    raw: true,
    onDownload: (received, total) => progress.update('Exporting', received, total, 'bytes'),
  });
  progress.finish();
  if (values.out) writeFileSync(values.out, `${text}\n`);
  else process.stdout.write(`${text}\n`);
  const document = JSON.parse(text) as ExportDocument;
  process.stderr.write(
    `Exported ${document.changes.length} change(s) from ${document.from.name} (${document.format} v${document.formatVersion}, ${document.checksum})` +
      `${document.dependencies.length > 0 ? `; the importer must already have ${document.dependencies.length} change(s) they depend on` : ''}.\n`,
  );
}
