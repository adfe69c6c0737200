// `shiplog serve` as an operator runs it (bin/shiplog.js, in a process of its own), for the benchmarks that measure a
// serving process from outside: its URLs from the banner, and a stop by SIGTERM.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'shiplog.js');

/** Starts `shiplog serve`; resolves with its URL, its metrics URL (with `metricsPort`) and `stop`. */
export function spawnServe({ name, kind = 'development', database, adminToken, port = 0, metricsPort, keyFile, env = {} }) {
  const args = ['serve', '--name', name, '--kind', kind, '--port', String(port), '--database', database, '--rate-limit', '0', '--log-level', 'warn'];
  if (metricsPort !== undefined) args.push('--metrics-port', String(metricsPort));
  if (keyFile) args.push('--key-file', keyFile);
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SHIPLOG_ADMIN_TOKEN: adminToken, ...env } });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`shiplog serve exited with ${code} before serving:\n${stdout}`));
    child.once('exit', onExit);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const url = /is serving (http:\/\/\S+)/.exec(stdout)?.[1];
      const metricsUrl = /Metrics: (http:\/\/\S+)/.exec(stdout)?.[1] ?? null;
      // The banner ends with the administrator's lines.
      if (!url || !/\n {2}(Try|Administrator: created|Lost it)[^\n]*\n/.test(stdout) || (metricsPort !== undefined && !metricsUrl)) return;
      child.off('exit', onExit);
      resolve({
        url,
        metricsUrl,
        stop: () =>
          new Promise((done) => {
            child.once('exit', (code) => done(code));
            child.kill('SIGTERM');
          }),
      });
    });
  });
}
