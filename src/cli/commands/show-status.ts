import { parseArgs } from 'node:util';
import type { PeerStatus } from '../../sync/sync-service.js';
import { callApi, expectPositionals, print, query, resolveTarget, targetOptions, targetUsage } from '../api-client.js';
import { renderStatus } from '../render.js';

export const statusUsage = `shiplog status PEER [--counts-only] [--url URL] [--token TOKEN] [--json]

  Shows how this instance stands with the linked instance PEER: behind, ahead, in sync and why
  not, and the changes on either side (--counts-only leaves the lists out).
${targetUsage}`;

export async function showStatus(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...targetOptions, 'counts-only': { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  expectPositionals(positionals, ['PEER']);
  const peer = encodeURIComponent(positionals[0]!);
  const status = await callApi<PeerStatus>(resolveTarget(values), 'GET', `/v1/instances/${peer}/status${query({ list: !values['counts-only'] })}`);
  print(values.json ? JSON.stringify(status, null, 2) : renderStatus(status));
  return 0;
}
