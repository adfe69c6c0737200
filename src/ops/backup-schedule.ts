import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { backupDatabase, type BackupResult } from './backup.js';

/** A scheduled backup's name: the instance's name and the UTC time it was taken, to the millisecond, so names sort by age. */
export function backupFileName(name: string, at: Date): string {
  return `${name}-${at.toISOString().replace(/[-:.]/g, '')}.sqlite`;
}

const scheduledName = (name: string) => new RegExp(`^${name}-\\d{8}T\\d{9}Z\\.sqlite$`);

/** Removes all but the newest `keep` scheduled backups of `name` in `dir`; returns the files removed. */
export function rotateBackups(dir: string, name: string, keep: number): string[] {
  const files = readdirSync(dir)
    .filter((f) => scheduledName(name).test(f))
    .sort();
  const removed = files.slice(0, Math.max(0, files.length - keep)).map((f) => join(dir, f));
  for (const file of removed) rmSync(file, { force: true });
  return removed;
}

export interface BackupLog {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface BackupSchedule {
  /** Takes a backup now (as the schedule does); resolves when it is written, verified and rotated, or has failed. */
  runNow(): Promise<BackupResult | null>;
  /** Stops the schedule; waits for a backup under way. */
  stop(): Promise<void>;
}

/**
 * Backs the SQLite database up every `everyMs` into `dir` (`NAME-20261207T101500123Z.sqlite`, named only once whole and
 * verified), keeping the newest `keep`. Each outcome is logged; a failure is logged and the next one is tried on time.
 */
export function startBackupSchedule(options: { database: string; name: string; dir: string; everyMs: number; keep: number; keys: Buffer[]; log: BackupLog }): BackupSchedule {
  const { database, name, dir, everyMs, keep, keys, log } = options;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<BackupResult | null> | undefined;
  let stopped = false;

  const takeOne = async (): Promise<BackupResult | null> => {
    try {
      mkdirSync(dir, { recursive: true });
      const result = await backupDatabase({ database, to: join(dir, backupFileName(name, new Date())), keys });
      const removed = rotateBackups(dir, name, keep);
      log.info(
        { event: 'backup', outcome: 'success', file: result.file, bytes: result.bytes, changes: result.verify.checked, copySeconds: result.copySeconds, verifySeconds: result.verifySeconds, removed },
        'backup written and verified',
      );
      return result;
    } catch (error) {
      log.error({ event: 'backup', outcome: 'failure', dir, error: error instanceof Error ? error.message : String(error) }, 'backup failed');
      return null;
    }
  };
  const runNow = () => (running ??= takeOne().finally(() => (running = undefined)));
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void runNow().then(schedule), everyMs);
    timer.unref();
  };
  schedule();
  return {
    runNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
