import { Command } from 'commander';
import type { PeerStatus } from '../../sync/sync-service.js';
import { callApi, print, query, resolveTarget, withTarget, type TargetValues } from '../api-client.js';
import { renderStatus } from '../render.js';

export function statusCommand(): Command {
  const command = new Command('status')
    .summary('how a linked instance stands with this one')
    .description(
      'Shows how the linked instance PEER stands with this instance: how many changes it is behind and ahead (from its side, as the demo says it), in sync and why not, and the changes on either side (--counts-only leaves the lists out).',
    )
    .usage('PEER [options]')
    .argument('<PEER>', 'the linked instance')
    .option('--counts-only', 'leave the lists of changes out');
  return withTarget(command).action(async (peer: string, values: TargetValues & { countsOnly?: boolean }) => {
    const status = await callApi<PeerStatus>(resolveTarget(values), 'GET', `/v1/instances/${encodeURIComponent(peer)}/status${query({ list: !values.countsOnly })}`);
    print(values.json ? JSON.stringify(status, null, 2) : renderStatus(status));
  });
}
