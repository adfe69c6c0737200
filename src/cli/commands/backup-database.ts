import { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from '../usage-error.js';

const KEY_HELP = "the file of the instance's secret key (default: DATABASE.key for a SQLite file; SHIPLOG_SECRET_KEY instead of either)";

/**
 * The pipeline's keys, to verify a history with: SHIPLOG_SECRET_KEY, --key-file, or the SQLite file's own key file.
 * Never made: a backup checked under a new key would fail.
 */
async function historyKeys(keyFile: string | undefined, database: string): Promise<Buffer[]> {
  const { parseSecretKeys } = await import('../../tracking/secret-box.js');
  if (!keyFile && process.env.SHIPLOG_SECRET_KEY) return parseSecretKeys(process.env.SHIPLOG_SECRET_KEY);
  const postgres = /^postgres(ql)?:\/\//.test(database);
  const file = keyFile ?? (postgres ? undefined : `${database.replace(/^sqlite:/, '')}.key`);
  if (!file) throw new UsageError('--key-file (or SHIPLOG_SECRET_KEY) is required with PostgreSQL: the history is verified under the instance\'s key');
  if (!existsSync(file)) throw new UsageError(`${file} does not exist: give the instance's key with --key-file or SHIPLOG_SECRET_KEY`);
  return parseSecretKeys(readFileSync(file, 'utf8'));
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export function backupCommand(): Command {
  return new Command('backup')
    .summary("copy an instance's database to a verified backup file, while it serves")
    .description(
      "Copies the instance's database to FILE while the instance keeps serving, and verifies the copy (the history chain and every tracked entity's state, as GET /v1/changes/verify does) before it names the file: a file at FILE is always a whole, verified backup. SQLite: SQLite's online backup. PostgreSQL: pg_dump (on PATH) in its custom format, verified in a scratch database made and dropped on the same server (the user needs CREATEDB). Refuses an existing FILE, and a database written by a newer version. The backup holds secrets sealed under the instance's key, not the key: keep the key file apart.",
    )
    .usage('--database DATABASE --to FILE [--key-file FILE]')
    .requiredOption('--database <DATABASE>', "the instance's database: a SQLite file or a postgres:// URL")
    .requiredOption('--to <FILE>', 'the backup file to write (must not exist)')
    .option('--key-file <FILE>', KEY_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (values: { database: string; to: string; keyFile?: string; json?: boolean }) => {
      const keys = await historyKeys(values.keyFile, values.database);
      const { backupDatabase } = await import('../../ops/backup.js');
      const result = await backupDatabase({ database: values.database, to: values.to, keys });
      const summary = { file: result.file, engine: result.engine, bytes: result.bytes, changes: result.verify.checked, headSeq: result.verify.headSeq, entities: result.verify.entities, copySeconds: result.copySeconds, verifySeconds: result.verifySeconds };
      process.stdout.write(
        values.json
          ? `${JSON.stringify(summary, null, 2)}\n`
          : `Backup written and verified: ${result.file} (${mib(result.bytes)}, ${result.engine})\n  ${result.verify.checked} changes up to #${result.verify.headSeq}, ${result.verify.entities.checked} tracked entities as their head change left them\n  copied in ${result.copySeconds.toFixed(1)} s, verified in ${result.verifySeconds.toFixed(1)} s\n`,
      );
    });
}

export function restoreBackupCommand(): Command {
  return new Command('restore-backup')
    .summary('bring an instance back from a backup file')
    .description(
      "Brings an instance's database back from a backup FILE made by shiplog backup. The file is verified first, under the instance's key, and refused (exit 1, nothing written) if it does not verify. A target in use (an instance serving it, or any other connection) is refused: stop the instance first. A target that holds a database is replaced only with --replace. A SQLite target is replaced by renaming a full copy into place; a PostgreSQL target (created if missing) has its public schema emptied and the archive restored in one transaction. A backup of an earlier version is restored as it is: shiplog serve migrates it at start.",
    )
    .usage('FILE --database DATABASE [--replace] [--key-file FILE]')
    .argument('<FILE>', 'the backup file')
    .requiredOption('--database <DATABASE>', 'the database to restore: a SQLite file or a postgres:// URL')
    .option('--replace', 'replace a database that holds tables')
    .option('--key-file <FILE>', KEY_HELP)
    .action(async (file: string, values: { database: string; replace?: boolean; keyFile?: string }) => {
      if (!existsSync(file)) throw new UsageError(`${file} does not exist`);
      const keys = await historyKeys(values.keyFile, values.database);
      const { restoreBackup } = await import('../../ops/backup.js');
      const result = await restoreBackup({ from: file, database: values.database, keys, replace: values.replace === true });
      const lines = [
        `Restored ${result.database} from ${file}${result.replaced ? ' (the database that was there is replaced)' : ''}`,
        `  ${result.verify.checked} changes up to #${result.verify.headSeq}, verified before restoring`,
      ];
      if (result.pending.length > 0) lines.push(`  Made by an earlier version: shiplog serve applies ${result.pending.length} migration${result.pending.length === 1 ? '' : 's'} at start`);
      lines.push('  Start the instance with the same secret key (its key file or SHIPLOG_SECRET_KEY).');
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
