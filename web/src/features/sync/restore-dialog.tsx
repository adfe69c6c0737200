import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useState } from 'react';
import { refusedRestore, restoreFrom, type RestorePlan } from '../../api/sync';
import { Button } from '../../ui/button';
import { Dialog } from '../../ui/dialog';
import { formatTime, operationLabels } from '../../ui/format';
import { ProblemNotice } from '../../ui/problem-notice';

type Scope = 'instance' | 'pipeline';

function RestoreParts({ plan, moved }: { plan: RestorePlan; moved: string[] }) {
  return (
    <ul className="space-y-3" data-testid="restore-plan">
      {plan.instances.map((part) => (
        <li key={part.instanceId} className={`rounded border p-3 ${moved.includes(part.name) ? 'border-amber-400 bg-amber-50' : 'border-slate-300'}`} data-instance={part.name}>
          <h3 className="font-semibold">
            {part.name}
            {part.restored && <span className="ml-2 rounded bg-green-100 px-1.5 text-xs text-green-900">restored</span>}
            {moved.includes(part.name) && <span className="ml-2 rounded bg-amber-200 px-1.5 text-xs">moved since the plan</span>}
          </h3>
          <p className={part.lost.count > 0 ? 'font-medium text-red-900' : 'text-slate-700'}>
            {part.lost.count === 0 ? 'Loses no change: production has every change it has.' : `Loses ${part.lost.count} ${part.lost.count === 1 ? 'change' : 'changes'} that production lacks:`}
          </p>
          {part.lost.changes.length > 0 && (
            <ol className="mt-1 max-h-40 overflow-y-auto rounded border border-red-200 bg-red-50 text-xs" aria-label={`Changes ${part.name} loses`}>
              {part.lost.changes.map((c) => (
                <li key={c.id} className="flex gap-2 border-b border-red-100 px-2 py-0.5 last:border-0">
                  <span className="font-medium">{c.entityName || c.entityId}</span>
                  <span>
                    {c.type} · {operationLabels[c.op] ?? c.op}
                    {c.changeSet ? ` · ${c.changeSet}` : ''}
                  </span>
                  <span className="ml-auto tabular-nums">{formatTime(c.at)}</span>
                </li>
              ))}
            </ol>
          )}
          <p className="mt-1 text-xs text-slate-700">
            Copies {part.copied.changes} changes and {part.copied.entities} tracked entities from production; replaces {part.replaced.changes} changes and {part.replaced.entities} entities here.
            {part.deskDataCleared && ' Its desk records (customers, users, tickets) are cleared.'}
          </p>
        </li>
      ))}
    </ul>
  );
}

/** "Restore from production": the plan of what each instance loses, the scope, and a typed confirmation bound to the plan's fingerprint. */
export function RestoreDialog({ production, here, isOpen, onClose }: { production: string; here: string; isOpen: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const ids = useId();
  const [scope, setScope] = useState<Scope>('instance');
  const [typed, setTyped] = useState('');
  const plan = useMutation({ mutationFn: (s: Scope) => restoreFrom(production, { scope: s, confirm: false }, true) });
  const run = useMutation({
    mutationFn: (seen: RestorePlan) => restoreFrom(production, { scope: seen.scope, confirm: true, fingerprint: seen.fingerprint }, false),
    onSettled: () => queryClient.invalidateQueries({ predicate: (q) => ['instances', 'changes', 'change'].includes(String(q.queryKey[0])) }),
  });
  const refused = refusedRestore(run.error);
  // A restore refused because something moved carries the plan as it stands now: that becomes the plan to confirm.
  const seen = refused.plan ?? plan.data;
  const phrase = `restore ${here}`;
  const done = run.data;
  const close = () => {
    plan.reset();
    run.reset();
    setTyped('');
    onClose();
  };
  const choose = (s: Scope) => {
    setScope(s);
    run.reset();
    plan.mutate(s);
  };
  const { isIdle, mutate } = plan;
  useEffect(() => {
    if (isOpen && isIdle) mutate(scope);
  }, [isOpen, isIdle, mutate, scope]);

  return (
    <Dialog title={done ? 'Restored from production' : `Restore ${here} from ${production}?`} isOpen={isOpen} onClose={close} busy={run.isPending} wide>
      <div className="space-y-3 text-sm">
        {done ? (
          <>
            <p role="status" className="rounded bg-green-50 p-2 text-green-900">
              {done.instances.filter((i) => i.restored).length} {done.instances.length === 1 ? 'instance was' : 'instances were'} restored; each is now in sync with {production}.
            </p>
            <RestoreParts plan={done} moved={[]} />
          </>
        ) : (
          <>
            <p>
              The tracked configuration and change history are replaced with {production}'s, and desk data (customers, users, tickets) is cleared. Each instance's own settings, links and role holders stay.
            </p>
            <div>
              <label htmlFor={`${ids}-scope`} className="block font-medium">
                Select which instances to restore
              </label>
              <select id={`${ids}-scope`} value={scope} onChange={(e) => choose(e.target.value as Scope)} disabled={run.isPending} className="rounded border border-slate-400 px-2 py-1">
                <option value="instance">Only {here}</option>
                <option value="pipeline">{here} and every instance between it and production</option>
              </select>
            </div>
            {plan.isPending && <p className="text-slate-600">Planning with every instance concerned…</p>}
            <ProblemNotice error={plan.error} />
            {refused.moved.length > 0 && (
              <p role="alert" className="rounded border border-amber-400 bg-amber-50 p-2">
                {refused.moved.join(', ')} moved since the plan you confirmed. Nothing was written. Below is the plan as it stands now: read it and confirm again.
              </p>
            )}
            {seen && <RestoreParts plan={seen} moved={refused.moved} />}
            {seen && (
              <div>
                <label htmlFor={`${ids}-confirm`} className="block font-medium">
                  Type <code className="rounded bg-slate-100 px-1">{phrase}</code> to confirm
                </label>
                <input
                  id={`${ids}-confirm`}
                  value={typed}
                  onChange={(e) => setTyped(e.target.value)}
                  autoComplete="off"
                  disabled={run.isPending}
                  className="w-72 rounded border border-slate-400 px-2 py-1"
                />
              </div>
            )}
            {run.isPending && (
              <div role="status" className="flex items-center gap-2 rounded bg-slate-100 p-2">
                <progress aria-label="Restore under way" className="h-2 w-40" />
                Restoring from {production}…
              </div>
            )}
            {refused.moved.length === 0 && <ProblemNotice error={run.error} write />}
          </>
        )}
        <div className="flex justify-end gap-2 pt-2">
          {done ? (
            <Button look="primary" onPress={close}>
              Close
            </Button>
          ) : (
            <>
              <Button onPress={close} isDisabled={run.isPending}>
                Cancel
              </Button>
              <Button look="danger" onPress={() => seen && run.mutate(seen)} isDisabled={!seen || typed.trim() !== phrase || run.isPending || plan.isPending}>
                {run.isPending ? 'Restoring…' : seen && seen.instances.length > 1 ? `Restore ${seen.instances.length} instances` : `Restore ${here}`}
              </Button>
            </>
          )}
        </div>
      </div>
    </Dialog>
  );
}
