import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ExportDocument } from '../../sync/export-document.js';
import { callApi, expectPositionals, resolveTarget, targetOptions, targetUsage } from '../api-client.js';
import { createProgress, progressWanted } from '../progress.js';
import { UsageError } from '../usage-error.js';
import { listValues } from './sync-changes.js';

export const exportUsage = `shiplog export [--change ID]… [--change-set LABEL] [--from TIME] [--to TIME] [--peer PEER] [--out FILE]

  Writes selected changes as a versioned, checksummed JSON document (secrets stay encrypted) to
  FILE or standard output: shiplog export --change-set onboarding > changes.json
  --peer PEER adds the dependency closure the linked instance PEER lacks.
${targetUsage.split('\n').slice(0, 2).join('\n')}`;

export async function exportChanges(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...targetOptions,
      change: { type: 'string', multiple: true },
      'change-set': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      peer: { type: 'string' },
      out: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  expectPositionals(positionals, []);
  const changeIds = listValues(values.change);
  if (!changeIds && !values['change-set'] && !values.from && !values.to) throw new UsageError('name what to export: --change, --change-set, --from or --to');
  const progress = createProgress({ enabled: progressWanted(false) });
  const text = await callApi<string>(
    resolveTarget(values),
    'POST',
    '/v1/changes/export',
    {
      json: {
        ...(changeIds ? { changeIds } : {}),
        ...(values['change-set'] ? { changeSet: values['change-set'] } : {}),
        ...(values.from ? { from: values.from } : {}),
        ...(values.to ? { to: values.to } : {}),
        ...(values.peer ? { peer: values.peer } : {}),
      },
      raw: true,
      onDownload: (received, total) => progress.update('Exporting', received, total, 'bytes'),
    },
  );
  progress.finish();
  if (values.out) writeFileSync(values.out, `${text}\n`);
  else process.stdout.write(`${text}\n`);
  const document = JSON.parse(text) as ExportDocument;
  process.stderr.write(
    `Exported ${document.changes.length} change(s) from ${document.from.name} (${document.format} v${document.formatVersion}, ${document.checksum})` +
      `${document.dependencies.length > 0 ? `; the importer must already have ${document.dependencies.length} change(s) they depend on` : ''}.\n`,
  );
  return 0;
}
