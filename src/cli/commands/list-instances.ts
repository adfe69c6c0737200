import { parseArgs } from 'node:util';
import type { PeerStatus } from '../../sync/sync-service.js';
import { callApi, expectPositionals, print, resolveTarget, targetOptions, targetUsage } from '../api-client.js';
import { renderInstances } from '../render.js';

export const instancesUsage = `shiplog instances [--url URL] [--token TOKEN] [--json]

  Lists the instances linked to this one: kind, version, relation, changes behind and ahead,
  and whether each is in sync (and why not).
${targetUsage}`;

export async function listInstances(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: targetOptions, allowPositionals: true, strict: true });
  expectPositionals(positionals, []);
  const answer = await callApi<{ items: PeerStatus[] }>(resolveTarget(values), 'GET', '/v1/instances');
  print(values.json ? JSON.stringify(answer, null, 2) : renderInstances(answer.items));
  return 0;
}
