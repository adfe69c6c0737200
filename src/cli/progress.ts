/** Shows how long work is going, on standard error: a bar when its size is known, elapsed time when not. */
export interface Progress {
  /** `done` units of `total` (a bar), or of an unknown total (a count). */
  update(label: string, done: number, total: number | null, unit: string): void;
  /** Shows `label` with the time elapsed until `work` settles, then how long it took. */
  during<T>(label: string, work: Promise<T>): Promise<T>;
  /** Ends the line the bar or count was drawn on. */
  finish(): void;
}

const WIDTH = 24;
const count = (n: number) => n.toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Whether to show progress: `SHIPLOG_PROGRESS` says `always` or `never`; otherwise only where standard error is a
 * terminal, and never beside `--json` output meant for another program.
 */
export function progressWanted(json: boolean, env: NodeJS.ProcessEnv = process.env, stream: { isTTY?: boolean } = process.stderr): boolean {
  const setting = env.SHIPLOG_PROGRESS;
  if (setting === 'always') return true;
  if (setting === 'never') return false;
  return !json && stream.isTTY === true;
}

export function renderBar(label: string, done: number, total: number | null, unit: string): string {
  if (total === null || total <= 0) return `${label}: ${count(done)} ${unit}`;
  const share = Math.min(1, done / total);
  const filled = Math.round(share * WIDTH);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ${count(done)}/${count(total)} ${unit}`;
}

/**
 * On a terminal each update redraws one line; elsewhere (a log, `SHIPLOG_PROGRESS=always`) lines are written at most
 * once a second and at the end, so a log is not flooded.
 */
export function createProgress(options: { enabled: boolean; stream?: NodeJS.WritableStream & { isTTY?: boolean }; now?: () => number; tickMs?: number }): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const live = stream.isTTY === true;
  let drawn = false;
  let lastWrite = -Infinity;
  // Off a terminal: the latest line not yet written, for `finish`.
  let pending: string | null = null;

  function draw(line: string, final: boolean, first = false): void {
    if (!options.enabled) return;
    if (live) {
      stream.write(`\r\u001b[2K${line}${final ? '\n' : ''}`);
      drawn = !final;
      return;
    }
    const at = now();
    if (!final && !first && at - lastWrite < 1000) {
      pending = line;
      return;
    }
    lastWrite = at;
    pending = null;
    stream.write(`${line}\n`);
  }

  return {
    update(label, done, total, unit) {
      draw(renderBar(label, done, total, unit), total !== null && done >= total);
    },
    async during(label, work) {
      const started = now();
      draw(`${label}…`, false, true);
      const timer = setInterval(() => draw(`${label}… ${seconds(now() - started)}`, false), options.tickMs ?? 200);
      try {
        const result = await work;
        draw(`${label}: done in ${seconds(now() - started)}`, true);
        return result;
      } catch (error) {
        draw(`${label}: stopped after ${seconds(now() - started)}`, true);
        throw error;
      } finally {
        clearInterval(timer);
      }
    },
    finish() {
      if (options.enabled && live && drawn) stream.write('\n');
      if (options.enabled && !live && pending !== null) stream.write(`${pending}\n`);
      drawn = false;
      pending = null;
    },
  };
}
