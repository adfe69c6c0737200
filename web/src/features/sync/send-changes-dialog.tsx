import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { peerStatusQuery, pipelineQuery, type PeerStatus, type TransferOperation } from '../../api/sync';
import { Button } from '../../ui/button';
import { Dialog } from '../../ui/dialog';
import { ProblemNotice } from '../../ui/problem-notice';
import { TransferDialog } from './transfer-dialog';

type Brief = Pick<NonNullable<PeerStatus['aheadChanges']>[number], 'id' | 'entityId' | 'entityName' | 'type' | 'op' | 'changeSet'>;

/** The instances this one may push to (or pull from), the pipeline's own direction first. */
function peersFor(operation: TransferOperation, peers: PeerStatus[]): string[] {
  const allowed = peers.filter((p) => (operation === 'push' ? p.relation !== 'source' : p.relation !== 'downstream'));
  const edge = operation === 'push' ? 'downstream' : 'source';
  return [...allowed.filter((p) => p.relation === edge), ...allowed.filter((p) => p.relation !== edge)].map((p) => p.name);
}

/**
 * The push or pull dialog opened from the change list: the person picks the other instance, and a push starts from the
 * changes selected in the list with their plan shown.
 */
export function SendChangesDialog({ operation, changes, onClose }: { operation: TransferOperation; changes: Brief[]; onClose: () => void }) {
  const pipeline = useQuery(pipelineQuery);
  const names = pipeline.data ? peersFor(operation, pipeline.data) : [];
  const [chosen, setChosen] = useState<string | null>(null);
  const peer = chosen !== null && names.includes(chosen) ? chosen : names[0];
  const status = useQuery({ ...peerStatusQuery(peer ?? ''), enabled: peer !== undefined });
  const title = operation === 'push' ? 'Push selected changes' : 'Pull';

  if (peer === undefined || status.isPending)
    return (
      <Dialog title={title} isOpen onClose={onClose}>
        <div className="space-y-3 text-sm">
          {pipeline.isPending ? (
            <p role="status">Finding the linked instances…</p>
          ) : pipeline.isError ? (
            <ProblemNotice error={pipeline.error} />
          ) : peer === undefined ? (
            <p>
              No linked instance takes {operation === 'push' ? 'changes from' : 'changes to'} this one.{' '}
              <Link to="/instances" className="text-blue-800 underline">
                Link one on the instances page
              </Link>
              .
            </p>
          ) : (
            <p role="status">Reconciling with {peer}…</p>
          )}
          <div className="flex justify-end">
            <Button onPress={onClose}>Close</Button>
          </div>
        </div>
      </Dialog>
    );

  const listed = (operation === 'push' ? status.data?.aheadChanges : status.data?.behindChanges) ?? [];
  return (
    <TransferDialog
      key={peer}
      operation={operation}
      peer={peer}
      candidates={listed}
      preselected={operation === 'push' ? changes : []}
      peerChoice={{ names, onChange: setChosen }}
      isOpen
      onClose={onClose}
    />
  );
}
