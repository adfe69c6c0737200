import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Node options a serving process runs with. A push or pull moves tens of megabytes of JSON through the receiver in
 * short-lived objects; with the default young generation (16 MiB semi-spaces) many of them live through a scavenge
 * and are copied: the collector took a sixth of a 10,000-change push. With 64 MiB semi-spaces they die young, and the
 * push benchmark ran about 25 % faster (SQLite 4,400–4,900 → 5,300–5,900 changes/s in back-to-back runs).
 */
export const SERVER_NODE_OPTIONS = ['--max-semi-space-size=64'];

/** Set in the environment of a server started by `relaunchAsServer`, so that it does not start itself again. */
const SERVER_CHILD = 'SHIPLOG_SERVER_CHILD';

const optionName = (option: string) => option.split('=')[0];

/** Whether this process runs with the server's Node options (started with them, or started by `relaunchAsServer`). */
export function runsAsServer(): boolean {
  if (process.env[SERVER_CHILD] === '1') return true;
  return SERVER_NODE_OPTIONS.every((option) => process.execArgv.some((given) => optionName(given) === optionName(option)));
}

/**
 * Runs this same command in a child Node process started with the server's options, and resolves with its exit code.
 * INT, TERM and HUP are passed on to the child; the child stops too when this process dies without passing anything
 * on (killed with KILL): its IPC channel to this process closes (see `stopOnSignals`).
 */
export function relaunchAsServer(argv: string[]): Promise<number> {
  const child = spawn(process.execPath, [...SERVER_NODE_OPTIONS, ...process.execArgv, process.argv[1]!, ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [SERVER_CHILD]: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + constants.signals[signal] : 1)));
  });
}

/**
 * Stops the server on INT and TERM (once, however many arrive: a terminal's Ctrl-C reaches both a launcher and its
 * child) and, when `relaunchAsServer` started it, when its launcher goes away.
 */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping: Promise<void> | undefined;
  const once = () => void (stopping ??= stop());
  process.on('SIGINT', once);
  process.on('SIGTERM', once);
  if (process.env[SERVER_CHILD] === '1' && process.channel) {
    process.once('disconnect', once);
    // The channel only watches the launcher: it must not keep this process alive.
    process.channel.unref();
  }
}

/**
 * The action of a command that serves: in a process started with the server's Node options, it serves; otherwise it
 * runs this same command again in such a process (`relaunchAsServer`) and ends with its exit code.
 */
export function serving<T>(serve: (values: T) => Promise<void>): (values: T) => Promise<void> {
  return async (values) => {
    if (runsAsServer()) return serve(values);
    process.exitCode = await relaunchAsServer(process.argv.slice(2));
  };
}
