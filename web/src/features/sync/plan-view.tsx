import type { ReactNode } from 'react';
import type { SyncPlan, SyncProblem } from '../../api/sync';
import { Button } from '../../ui/button';
import { formatTime, operationLabels } from '../../ui/format';

const kindTitles: Record<string, string> = {
  conflict: 'Conflict',
  'missing-dependency': 'Missing dependency',
  'version-mismatch': 'Version mismatch',
  'not-a-pipeline-edge': 'Not a pipeline edge',
  'pushes-refused': 'Pushes refused',
  locked: 'Production lock',
  forbidden: 'Not allowed',
  'reference-missing': 'Missing reference',
  'record-missing': 'Record missing',
  'still-referenced': 'Still referenced',
  tampered: 'Altered change',
  'secret-key-unknown': 'Unknown secret key',
  'unkeyed-digest': 'Unvouched change',
  invalid: 'Invalid change',
  'own-origin': 'Own origin',
  'content-mismatch': 'Content mismatch',
  'unknown-type': 'Unknown type',
  'unknown-change': 'Unknown change',
};

/** What a person can do about each kind of problem, in one sentence. */
const kindAdvice: Record<string, string> = {
  conflict: 'The entity changed here since the incoming change was made on it. Carry the change here back down (export it, import it upstream), restore from production, or roll it back.',
  'missing-dependency': 'The change builds on changes the receiver lacks. Send them along, or leave them out on purpose.',
  'version-mismatch': 'Instances sync only on the same version: upgrade the older one first.',
  'not-a-pipeline-edge': 'In a pipeline an instance takes changes only from its source, in one direction. Push to the next stage, or pull from the source.',
  'pushes-refused': 'The receiver is pull-only: pull from it instead.',
  locked: 'The receiver is locked against this change: lift its production lock, or let its administrator pull.',
  forbidden: 'Whoever applies the batch there lacks a right it needs.',
  'record-missing': 'Create the record on the receiver with the same third-party id, then sync again.',
};

function show(value: unknown): string {
  if (value === undefined) return '—';
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 1 && (value as { set?: unknown }).set === true) return '(secret set)';
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** A conflict's two versions side by side: the entity as the receiver holds it and as the incoming change would make it. */
function ConflictVersions({ problem }: { problem: SyncProblem }) {
  const here = problem.receiver?.body ?? null;
  const incoming = problem.incoming?.after ?? null;
  const before = problem.incoming?.before ?? null;
  const keys = [...new Set([...Object.keys(here ?? {}), ...Object.keys(incoming ?? {}), ...Object.keys(before ?? {})])].sort();
  const differs = (k: string) => JSON.stringify(here?.[k]) !== JSON.stringify(incoming?.[k]) || JSON.stringify(here?.[k]) !== JSON.stringify(before?.[k]);
  return (
    <table className="mt-2 w-full table-fixed border-collapse text-xs" aria-label={`Both versions of ${problem.entity?.name ?? 'the entity'}`}>
      <thead>
        <tr className="bg-slate-100 text-left">
          <th scope="col" className="w-32 border border-slate-300 px-1.5 py-1">
            Field
          </th>
          <th scope="col" className="border border-slate-300 px-1.5 py-1">
            Here now (receiver)
          </th>
          <th scope="col" className="border border-slate-300 px-1.5 py-1">
            Incoming was made on
          </th>
          <th scope="col" className="border border-slate-300 px-1.5 py-1">
            Incoming would write
          </th>
        </tr>
      </thead>
      <tbody>
        {keys.map((k) => (
          <tr key={k} className={`align-top ${differs(k) ? 'bg-amber-50' : ''}`}>
            <th scope="row" className="border border-slate-300 px-1.5 py-1 text-left font-mono font-normal">
              {k}
              {differs(k) && <span className="sr-only"> (differs)</span>}
            </th>
            <td className="border border-slate-300 px-1.5 py-1">
              <pre className="font-mono break-words whitespace-pre-wrap">{here === null ? '(does not exist)' : show(here[k])}</pre>
            </td>
            <td className="border border-slate-300 px-1.5 py-1">
              <pre className="font-mono break-words whitespace-pre-wrap">{before === null ? '(did not exist)' : show(before[k])}</pre>
            </td>
            <td className="border border-slate-300 px-1.5 py-1">
              <pre className="font-mono break-words whitespace-pre-wrap">{incoming === null ? '(deleted)' : show(incoming[k])}</pre>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Every problem of a plan, each with what it means and, where there is one, the action that resolves it. */
export function PlanProblems({ problems, onAddMissing }: { problems: SyncProblem[]; onAddMissing?: (ids: string[]) => void }) {
  if (problems.length === 0) return null;
  return (
    <section aria-labelledby="plan-problems" className="mt-3">
      <h3 id="plan-problems" className="text-sm font-semibold text-red-900">
        {problems.length} {problems.length === 1 ? 'problem' : 'problems'} — nothing will be written until {problems.length === 1 ? 'it is' : 'they are'} resolved
      </h3>
      <ul className="mt-1 space-y-2" data-testid="plan-problems">
        {problems.map((p, i) => (
          <li key={`${p.kind}:${p.changeId ?? i}`} className="rounded border border-red-300 bg-red-50 p-2 text-sm text-red-950" data-kind={p.kind}>
            <p>
              <strong>{kindTitles[p.kind] ?? p.kind}</strong>
              {p.entity && (
                <>
                  {' '}
                  on <span className="font-medium">{p.entity.name || p.entity.id}</span> ({p.entity.type})
                </>
              )}
              : {p.message}
            </p>
            {kindAdvice[p.kind] && <p className="mt-1 text-xs">{kindAdvice[p.kind]}</p>}
            {p.kind === 'conflict' && <ConflictVersions problem={p} />}
            {p.missing && p.missing.length > 0 && (
              <div className="mt-1 flex flex-wrap items-center gap-2 text-xs">
                <span>Missing:</span>
                {p.missing.map((id) => (
                  <code key={id} className="rounded bg-white px-1">
                    {id}
                  </code>
                ))}
                {onAddMissing && (
                  <Button look="secondary" onPress={() => onAddMissing(p.missing ?? [])}>
                    Add {p.missing.length === 1 ? 'it' : 'them'} to the selection
                  </Button>
                )}
              </div>
            )}
            {p.errors && p.errors.length > 0 && (
              <ul className="mt-1 list-disc pl-5 text-xs">
                {p.errors.map((e) => (
                  <li key={`${e.path}:${e.code}`}>
                    <code>{e.path}</code>: {e.message}
                  </li>
                ))}
              </ul>
            )}
            {p.records && p.records.length > 0 && (
              <ul className="mt-1 list-disc pl-5 text-xs">
                {p.records.map((r) => (
                  <li key={`${r.path}:${r.id}`}>
                    <code>{r.path}</code>: {r.kind} {r.name ?? r.id ?? ''} {r.thirdPartyId ? `(third-party id ${r.thirdPartyId})` : '(no third-party id)'}
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Count({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div className="rounded border border-slate-200 bg-slate-50 px-3 py-1.5">
      <dt className="text-xs text-slate-600">{label}</dt>
      <dd className="text-lg font-semibold tabular-nums">{value}</dd>
    </div>
  );
}

const actionLabels: Record<string, string> = { apply: 'to apply', present: 'already present', refused: 'refused' };
const actionLooks: Record<string, string> = { apply: 'bg-blue-100 text-blue-900', present: 'bg-slate-200 text-slate-800', refused: 'bg-red-100 text-red-900' };

/** A push, pull or import plan: counts, every change with its action and why it is there, and every problem. */
export function PlanView({ plan, onAddMissing }: { plan: SyncPlan; onAddMissing?: (ids: string[]) => void }) {
  const names = new Map(plan.changes.map((c) => [c.id, c.entityName || c.entityId]));
  return (
    <div className="text-sm" data-testid="sync-plan">
      <p>
        From <strong>{plan.from.name}</strong> to <strong>{plan.to.name}</strong>
        {plan.cutoff && <> · changes made on or before {formatTime(plan.cutoff)}</>}
        {plan.mode === 'since-last-sync' && <> · everything since the last sync (“don't check diffs” is on)</>}
      </p>
      {plan.request ? (
        <p role="status" className="mt-2 rounded bg-amber-50 p-2 text-amber-950" data-testid="plan-request">
          Nothing applied yet: {plan.to.name} asks for {plan.request.approvalsRequired} {plan.request.approvalsRequired === 1 ? 'approval' : 'approvals'}. Promotion request{' '}
          <strong>{plan.request.id}</strong> holds these changes there until it is approved and applied.
        </p>
      ) : (
        plan.approvalsRequired !== undefined && (
          <p className="mt-2 rounded bg-amber-50 p-2 text-amber-950" data-testid="plan-approval">
            {plan.to.name} asks for {plan.approvalsRequired} {plan.approvalsRequired === 1 ? 'approval' : 'approvals'}: confirming creates a promotion request there, and nothing
            applies until it is approved.
          </p>
        )
      )}
      <dl className="mt-2 grid grid-cols-3 gap-2 sm:grid-cols-6" aria-label="Plan counts">
        <Count label="To apply" value={plan.counts.toApply} />
        <Count label="Already present" value={plan.counts.alreadyPresent} />
        <Count label="Refused" value={plan.counts.refused} />
        <Count label="Entities" value={plan.counts.entities} />
        <Count label="Held back by cut-off" value={plan.heldBackByCutoff} />
        <Count label="Problems" value={plan.counts.problems} />
      </dl>
      {plan.added.length > 0 && (
        <section aria-labelledby="plan-closure" className="mt-3">
          <h3 id="plan-closure" className="text-sm font-semibold">
            Added as dependencies ({plan.added.length})
          </h3>
          <p className="text-xs text-slate-600">The selection builds on these changes, which the receiver lacks; without them it could not apply.</p>
          <ul className="mt-1 list-disc pl-5" data-testid="plan-added">
            {plan.added.map((a) => (
              <li key={a.id}>
                <span className="font-medium">{names.get(a.id) ?? a.id}</span> — {a.reason === 'parent' ? 'the previous version of' : 'referenced by'} {names.get(a.of) ?? a.of}
                {a.changeSet && <> (change set {a.changeSet})</>}
              </li>
            ))}
          </ul>
        </section>
      )}
      {plan.leftOut.length > 0 && <p className="mt-2 text-amber-900">Left out on purpose although the selection depends on them: {plan.leftOut.length}.</p>}
      <PlanProblems problems={plan.problems} {...(onAddMissing ? { onAddMissing } : {})} />
      <h3 className="mt-3 text-sm font-semibold">Changes, in the order they apply ({plan.changes.length})</h3>
      {plan.changes.length === 0 ? (
        <p className="text-slate-600">Nothing to send: the receiver has every change this would send.</p>
      ) : (
        <div className="mt-1 max-h-72 overflow-y-auto rounded border border-slate-200">
          <table className="w-full text-left text-xs" data-testid="plan-changes">
            <thead className="sticky top-0 bg-slate-100">
              <tr>
                <th scope="col" className="px-2 py-1">
                  Action
                </th>
                <th scope="col" className="px-2 py-1">
                  Entity
                </th>
                <th scope="col" className="px-2 py-1">
                  Type
                </th>
                <th scope="col" className="px-2 py-1">
                  Operation
                </th>
                <th scope="col" className="px-2 py-1">
                  Change set
                </th>
                <th scope="col" className="px-2 py-1">
                  Made
                </th>
                <th scope="col" className="px-2 py-1">
                  Why
                </th>
              </tr>
            </thead>
            <tbody>
              {plan.changes.slice(0, 500).map((c) => (
                <tr key={c.id} className="border-t border-slate-100">
                  <td className="px-2 py-1">
                    <span className={`rounded px-1.5 ${actionLooks[c.action] ?? ''}`}>{actionLabels[c.action] ?? c.action}</span>
                  </td>
                  <td className="px-2 py-1 font-medium">{c.entityName || c.entityId}</td>
                  <td className="px-2 py-1">{c.type}</td>
                  <td className="px-2 py-1">{operationLabels[c.op] ?? c.op}</td>
                  <td className="px-2 py-1">{c.changeSet ?? '—'}</td>
                  <td className="px-2 py-1 tabular-nums">
                    {formatTime(new Date(c.at).toISOString())} by {c.actor.name}
                  </td>
                  <td className="px-2 py-1">{c.addedBecause ? `${c.addedBecause.reason === 'parent' ? 'parent' : 'required'} of ${names.get(c.addedBecause.of) ?? c.addedBecause.of}` : 'selected'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {plan.changes.length > 500 && <p className="p-2 text-xs text-slate-600">and {plan.changes.length - 500} more, in the same order.</p>}
        </div>
      )}
    </div>
  );
}
