import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { rollbackBefore, type ChangeDetail, type RollbackResult } from '../../api/queries';
import { Button } from '../../ui/button';
import { Dialog } from '../../ui/dialog';
import { operationLabels } from '../../ui/format';
import { ProblemNotice } from '../../ui/problem-notice';

function Reverted({ result }: { result: RollbackResult }) {
  return (
    <>
      <h3 className="mt-2 text-sm font-semibold">Changes reverted, newest first ({result.counts.changes})</h3>
      <ol className="mt-1 max-h-56 overflow-y-auto rounded border border-slate-200 text-sm" data-testid="rollback-reverted">
        {result.reverted.map((r) => (
          <li key={r.changeId} className="flex gap-2 border-b border-slate-100 px-2 py-1 last:border-0">
            <span className="tabular-nums text-slate-600">#{r.seq}</span>
            <span className="font-medium">{r.entityName || r.entityId}</span>
            <span className="text-slate-600">({r.type})</span>
            <span className="ml-auto">
              {operationLabels[r.op]} → undone by {r.revertOp}
            </span>
          </li>
        ))}
      </ol>
      <h3 className="mt-3 text-sm font-semibold">Resulting state per entity ({result.counts.entities})</h3>
      <ul className="mt-1 max-h-56 space-y-1 overflow-y-auto text-sm" data-testid="rollback-entities">
        {result.entities.map((e) => (
          <li key={`${e.type}:${e.id}`} className="rounded border border-slate-200 px-2 py-1">
            <span className="font-medium">{e.name || e.id}</span> <span className="text-slate-600">({e.type})</span>:{' '}
            {e.state === null ? <em>will no longer exist</em> : <code className="text-xs break-all">{JSON.stringify(e.state)}</code>}
          </li>
        ))}
      </ul>
    </>
  );
}

/** "Roll back before this change": the preview first, then confirmation, then the result. */
export function RollbackDialog({ change, isOpen, onClose }: { change: ChangeDetail; isOpen: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const preview = useQuery({ queryKey: ['rollback-preview', change.id], queryFn: () => rollbackBefore(change.id, true), enabled: isOpen, gcTime: 0, staleTime: 0 });
  const run = useMutation({
    mutationFn: () => rollbackBefore(change.id, false),
    onSuccess: () => queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] === 'changes' || q.queryKey[0] === 'change' }),
  });
  const close = () => {
    run.reset();
    onClose();
  };
  const done = run.data;

  return (
    <Dialog title={done ? 'Rolled back' : `Roll back before this change?`} isOpen={isOpen} onClose={close} busy={run.isPending} wide>
      <div className="text-sm">
        {done ? (
          <>
            <p role="status" className="rounded bg-green-50 p-2 text-green-900">
              {done.counts.changes} {done.counts.changes === 1 ? 'change was' : 'changes were'} reverted; {done.counts.written} written as new changes you can find in the change list.
            </p>
            <Reverted result={done} />
          </>
        ) : (
          <>
            <p>
              This change to <strong>{change.entityName || change.entityId}</strong> and every later change that touched the same entities or depends on them are reverted,
              in one transaction. The rollback is itself recorded as changes.
            </p>
            {preview.isPending && <p className="mt-3 text-slate-600">Working out the preview…</p>}
            <ProblemNotice error={preview.error} />
            {preview.data && <Reverted result={preview.data} />}
            <ProblemNotice error={run.error} write />
          </>
        )}
        <div className="mt-4 flex justify-end gap-2">
          {done ? (
            <Link to="/changes" className="rounded bg-blue-700 px-3 py-1.5 font-medium text-white" onClick={close}>
              Back to the change list
            </Link>
          ) : (
            <>
              <Button onPress={close} isDisabled={run.isPending}>
                Cancel
              </Button>
              <Button look="danger" onPress={() => run.mutate()} isDisabled={!preview.data || run.isPending || preview.data.counts.changes === 0}>
                {run.isPending ? 'Rolling back…' : `Roll back ${preview.data?.counts.changes ?? ''} changes`}
              </Button>
            </>
          )}
        </div>
      </div>
    </Dialog>
  );
}
