import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useState } from 'react';
import { refusedPlan, refusedProblems, transfer, type PeerStatus, type SyncBody, type SyncPlan, type TransferOperation } from '../../api/sync';
import { Button } from '../../ui/button';
import { Dialog } from '../../ui/dialog';
import { operationLabels } from '../../ui/format';
import { fieldProblem, ProblemNotice } from '../../ui/problem-notice';
import { endOfSecond, fromLocalInput, idempotencyKey, toLocalInput } from './local-time';
import { PlanProblems, PlanView } from './plan-view';

type Mode = 'cutoff' | 'changeSet' | 'selected';
type Candidate = Pick<NonNullable<PeerStatus['aheadChanges']>[number], 'id' | 'entityId' | 'entityName' | 'type' | 'op' | 'changeSet'>;

/** The other instances this dialog may send to or take from, when the person chooses (the change list's entry points). */
export interface PeerChoice {
  names: string[];
  onChange: (name: string) => void;
}

/** The largest selection a run names change by change; beyond it the run is bound by the plan's cut-off instead. */
const MAX_BOUND_IDS = 100_000;

/** Seconds since a run started, ticking while it is under way. */
function useElapsed(running: boolean): number {
  const [seconds, setSeconds] = useState(0);
  useEffect(() => {
    if (!running) return;
    const started = Date.now();
    const timer = setInterval(() => setSeconds(Math.round((Date.now() - started) / 1000)), 1000);
    return () => {
      clearInterval(timer);
      setSeconds(0);
    };
  }, [running]);
  return seconds;
}

/**
 * The real run sends exactly the changes of the plan the person saw, by id with no closure added, so nothing unseen goes;
 * if the receiver moved since, it refuses and writes nothing.
 */
function boundBody(plan: SyncPlan, asked: SyncBody): SyncBody {
  if (plan.changes.length > MAX_BOUND_IDS) return { ...asked, ...(plan.cutoff ? { cutoff: plan.cutoff } : {}) };
  return { changeIds: plan.changes.map((c) => c.id), withDependencies: false, ...(plan.leftOut.length > 0 ? { allowMissing: plan.leftOut } : {}) };
}

/**
 * "Push" or "Pull": the selection, then the plan with every problem, then confirmation, progress and the result.
 * `preselected` opens it on those changes with their plan (and so their dependency closure) already shown.
 */
export function TransferDialog({
  operation,
  peer,
  candidates: listed,
  preselected = [],
  peerChoice,
  isOpen,
  onClose,
}: {
  operation: TransferOperation;
  peer: string;
  candidates: Candidate[];
  preselected?: Candidate[];
  peerChoice?: PeerChoice;
  isOpen: boolean;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const ids = useId();
  const [mode, setMode] = useState<Mode>(preselected.length > 0 ? 'selected' : 'cutoff');
  const [cutoff, setCutoff] = useState(() => toLocalInput(new Date()));
  const [changeSet, setChangeSet] = useState('');
  const [selected, setSelected] = useState<Set<string>>(() => new Set(preselected.map((c) => c.id)));
  const [withDependencies, setWithDependencies] = useState(true);
  const [openingSelection] = useState(() => preselected.map((c) => c.id));
  const [asked, setAsked] = useState<SyncBody>(() => (openingSelection.length > 0 ? { changeIds: openingSelection } : {}));

  const plan = useMutation({ mutationFn: (body: SyncBody) => transfer(operation, peer, body, { dryRun: true }) });
  const run = useMutation({
    mutationFn: (seen: SyncPlan) => transfer(operation, peer, boundBody(seen, asked), { dryRun: false, idempotencyKey: idempotencyKey() }),
    onSettled: () => queryClient.invalidateQueries({ predicate: (q) => ['instances', 'changes', 'change'].includes(String(q.queryKey[0])) }),
  });
  const elapsed = useElapsed(run.isPending);
  // Changes chosen elsewhere may already be on the receiver: list them too, so the selection shown is the one planned.
  const listedIds = new Set(listed.map((c) => c.id));
  const candidates = [...preselected.filter((c) => !listedIds.has(c.id)), ...listed];
  const planMutate = plan.mutate;
  useEffect(() => {
    if (openingSelection.length === 0) return;
    planMutate({ changeIds: openingSelection });
  }, [openingSelection, planMutate]);

  const verb = operation === 'push' ? 'Push' : 'Pull';
  const seen = plan.data ?? refusedPlan(plan.error);
  const problems = plan.data?.problems ?? refusedProblems(plan.error);
  const done = run.data;

  const body = (): SyncBody => {
    const deps = withDependencies ? {} : { withDependencies: false };
    if (mode === 'changeSet') return { changeSet: changeSet.trim(), ...deps };
    if (mode === 'selected') return { changeIds: [...selected], ...deps };
    const at = fromLocalInput(cutoff);
    return at ? { cutoff: endOfSecond(at) } : { cutoff: cutoff };
  };
  const makePlan = (next: SyncBody = body()) => {
    run.reset();
    setAsked(next);
    plan.mutate(next);
  };
  const addMissing = (missing: string[]) => {
    const next = new Set([...selected, ...missing]);
    setSelected(next);
    setMode('selected');
    makePlan({ changeIds: [...next], ...(withDependencies ? {} : { withDependencies: false }) });
  };
  const close = () => {
    plan.reset();
    run.reset();
    onClose();
  };
  const toggle = (id: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const changeSets = [...new Set(candidates.map((c) => c.changeSet).filter((s): s is string => s !== null))].sort();
  const canPlan = mode === 'cutoff' ? cutoff !== '' : mode === 'changeSet' ? changeSet.trim() !== '' : selected.size > 0;
  const canRun = seen !== undefined && plan.data !== undefined && problems.length === 0 && seen.counts.toApply > 0 && !run.isPending;
  const title = done ? `${verb} finished` : operation === 'push' ? `Push to ${peer}` : `Pull from ${peer}`;

  return (
    <Dialog title={title} isOpen={isOpen} onClose={close} busy={run.isPending} wide>
      <div className="space-y-3 text-sm">
        {done ? (
          <>
            {!done.request && (
              <p role="status" className="rounded bg-green-50 p-2 text-green-900">
                {done.counts.toApply} {done.counts.toApply === 1 ? 'change was' : 'changes were'} applied on {done.to.name} in one transaction; {done.counts.alreadyPresent} were already there.
              </p>
            )}
            <PlanView plan={done} />
          </>
        ) : (
          <>
            {peerChoice && (
              <div>
                <label htmlFor={`${ids}-peer`} className="block font-medium">
                  {operation === 'push' ? 'Push to' : 'Pull from'}
                </label>
                <select id={`${ids}-peer`} value={peer} onChange={(e) => peerChoice.onChange(e.target.value)} disabled={run.isPending} className="rounded border border-slate-400 px-2 py-1">
                  {peerChoice.names.map((n) => (
                    <option key={n} value={n}>
                      {n}
                    </option>
                  ))}
                </select>
                <p className="text-xs text-slate-600">Only the instances this pipeline lets this instance {operation === 'push' ? 'push to' : 'pull from'}.</p>
              </div>
            )}
            <fieldset className="space-y-2" disabled={run.isPending}>
              <legend className="font-medium">What to {operation}</legend>
              <div className="flex flex-wrap gap-4">
                {(
                  [
                    ['cutoff', 'Everything up to a cut-off'],
                    ['changeSet', 'A change set'],
                    ['selected', 'Selected changes'],
                  ] as const
                ).map(([value, label]) => (
                  <label key={value} className="flex items-center gap-1.5">
                    <input type="radio" name={`${ids}-mode`} value={value} checked={mode === value} onChange={() => setMode(value)} />
                    {label}
                  </label>
                ))}
              </div>
              {mode === 'cutoff' && (
                <div>
                  <label htmlFor={`${ids}-cutoff`} className="block font-medium">
                    Cut-off date
                  </label>
                  <input
                    id={`${ids}-cutoff`}
                    type="datetime-local"
                    step={1}
                    value={cutoff}
                    onChange={(e) => setCutoff(e.target.value)}
                    aria-describedby={`${ids}-cutoff-help`}
                    aria-invalid={fieldProblem(plan.error, 'cutoff') ? true : undefined}
                    className="rounded border border-slate-400 px-2 py-1"
                  />
                  <p id={`${ids}-cutoff-help`} className="text-xs text-slate-600">
                    Only changes made on or before this time go (default: now, when the dialog opened).
                  </p>
                  {fieldProblem(plan.error, 'cutoff') && <p className="text-xs text-red-800">{fieldProblem(plan.error, 'cutoff')}</p>}
                </div>
              )}
              {mode === 'changeSet' && (
                <div>
                  <label htmlFor={`${ids}-set`} className="block font-medium">
                    Change set
                  </label>
                  <input
                    id={`${ids}-set`}
                    list={`${ids}-sets`}
                    value={changeSet}
                    onChange={(e) => setChangeSet(e.target.value)}
                    aria-invalid={fieldProblem(plan.error, 'changeSet') ? true : undefined}
                    className="w-72 rounded border border-slate-400 px-2 py-1"
                  />
                  <datalist id={`${ids}-sets`}>
                    {changeSets.map((s) => (
                      <option key={s} value={s} />
                    ))}
                  </datalist>
                  <p className="text-xs text-slate-600">The change set and the changes it builds on go; other work interleaved with it stays.</p>
                  {fieldProblem(plan.error, 'changeSet') && <p className="text-xs text-red-800">{fieldProblem(plan.error, 'changeSet')}</p>}
                </div>
              )}
              {mode === 'selected' && (
                <div>
                  <p className="text-xs text-slate-600">
                    A change goes with the changes it builds on — the entity&apos;s previous version and the current versions of the entities it references — when {operation === 'push' ? peer : 'this instance'} lacks them; the plan lists each one and why.
                  </p>
                  <p className="font-medium">Changes {operation === 'push' ? `${peer} lacks` : `this instance lacks from ${peer}`}</p>
                  {candidates.length === 0 ? (
                    <p className="text-slate-600">None: {operation === 'push' ? `${peer} has every change here` : `this instance has every change of ${peer}`}.</p>
                  ) : (
                    <ul className="max-h-48 overflow-y-auto rounded border border-slate-200" aria-label="Changes to choose from">
                      {candidates.map((c) => (
                        <li key={c.id} className="border-b border-slate-100 px-2 py-1 last:border-0">
                          <label className="flex items-center gap-2">
                            <input type="checkbox" checked={selected.has(c.id)} onChange={() => toggle(c.id)} />
                            <span className="font-medium">{c.entityName || c.entityId}</span>
                            <span className="text-slate-600">
                              {c.type} · {operationLabels[c.op] ?? c.op}
                              {c.changeSet ? ` · ${c.changeSet}` : ''}
                            </span>
                          </label>
                        </li>
                      ))}
                    </ul>
                  )}
                </div>
              )}
              {mode !== 'cutoff' && (
                <label className="flex items-center gap-1.5">
                  <input type="checkbox" checked={withDependencies} onChange={(e) => setWithDependencies(e.target.checked)} />
                  Add the changes this builds on that {operation === 'push' ? peer : 'this instance'} lacks (recommended)
                </label>
              )}
            </fieldset>
            <div className="flex justify-end">
              <Button look={seen ? 'secondary' : 'primary'} onPress={() => makePlan()} isDisabled={!canPlan || plan.isPending || run.isPending}>
                {plan.isPending ? 'Planning…' : seen ? 'Plan again' : 'Show the plan'}
              </Button>
            </div>
            {plan.error !== null && !seen && problems.length === 0 && <ProblemNotice error={plan.error} />}
            {seen ? <PlanView plan={seen} onAddMissing={addMissing} /> : <PlanProblems problems={problems} onAddMissing={addMissing} />}
            {seen && problems.length === 0 && seen.counts.toApply > 0 && (
              <p className="rounded bg-blue-50 p-2 text-blue-950">
                Confirming {operation === 'push' ? 'sends' : 'fetches'} exactly these {seen.changes.length} changes. If {seen.to.name} has moved since this plan, it refuses and nothing is written.
              </p>
            )}
            {run.isPending && (
              <div role="status" className="flex items-center gap-2 rounded bg-slate-100 p-2">
                <progress aria-label={`${verb} under way`} className="h-2 w-40" />
                {operation === 'push' ? 'Sending' : 'Fetching'} {seen?.changes.length} changes and applying them on {seen?.to.name}… {elapsed} s
              </div>
            )}
            <ProblemNotice error={run.error} write />
            {run.error !== null && refusedProblems(run.error).length > 0 && <PlanProblems problems={refusedProblems(run.error)} />}
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
              <Button look="primary" onPress={() => seen && run.mutate(seen)} isDisabled={!canRun}>
                {run.isPending ? `${verb}ing…` : canRun ? `${verb} ${seen.counts.toApply} ${seen.counts.toApply === 1 ? 'change' : 'changes'}` : verb}
              </Button>
            </>
          )}
        </div>
      </div>
    </Dialog>
  );
}
