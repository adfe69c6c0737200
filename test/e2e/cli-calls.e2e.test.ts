import { createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, runCli } from '../support/cli.js';

const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

describe('shiplog: help, version and time limits', () => {
  /** A server that accepts connections and never answers. */
  let silent: Server;
  let url: string;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('prints a command’s usage for `help COMMAND` and `COMMAND --help` alike, and the version', async () => {
    for (const command of [['push'], ['restore'], ['serve'], ['config'], ['config', 'list']]) {
      const viaHelp = await runCli(['help', ...command]);
      const viaFlag = await runCli([...command, '--help']);
      expect(viaFlag.code, command.join(' ')).toBe(0);
      expect(viaFlag.stdout, command.join(' ')).toMatch(new RegExp(`^Usage: shiplog ${command.join(' ')} `));
      if (command.length === 1) {
        expect(viaHelp.code).toBe(0);
        expect(viaHelp.stdout).toBe(viaFlag.stdout);
      }
    }
    expect((await runCli(['push', '--help'])).stdout).toContain('--timeout <SECONDS>');
    expect((await runCli(['restore', '--help'])).stdout).toContain('--fingerprint <FP>');
    const shown = await runCli(['--version']);
    expect(shown).toMatchObject({ code: 0, stdout: `${version}\n` });
    const listed = await runCli(['help']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ {2}restore {2,}replace this instance's configuration with production's$/m);
  });

  it('gives up on an instance that accepts and never answers, in one line naming the request', async () => {
    const started = Date.now();
    const run = await runCli(['instances', '--timeout', '1'], { SHIPLOG_URL: url, SHIPLOG_TOKEN: 'shp_whatever' });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`shiplog: no answer from ${url}/v1/instances within 1 s (wait longer with --timeout SECONDS or SHIPLOG_TIMEOUT)\n`);
    expect(Date.now() - started).toBeLessThan(15_000);

    // The environment sets it too, for long work as for a read.
    const push = await runCli(['push', 'staging'], { SHIPLOG_URL: url, SHIPLOG_TOKEN: 'shp_whatever', SHIPLOG_TIMEOUT: '0.5' });
    expect(push.code).toBe(1);
    expect(push.stderr).toContain(`shiplog: no answer from ${url}/v1/instances/staging/push within 0.5 s`);
    const wrong = await runCli(['instances'], { SHIPLOG_URL: url, SHIPLOG_TOKEN: 'shp_whatever', SHIPLOG_TIMEOUT: 'soon' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('SHIPLOG_TIMEOUT must be a number of seconds greater than 0, not "soon"');
  });
});
