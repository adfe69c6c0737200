import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useId, useState } from 'react';
import { isApiError, type FieldProblem } from '../../api/problem';
import { identityQuery } from '../../api/queries';
import { download, exportSelection, fileStamp, importChanges, refusedPlan, refusedProblems, type ExportSelection, type SyncPlan } from '../../api/sync';
import { Button } from '../../ui/button';
import { fieldProblem, ProblemNotice } from '../../ui/problem-notice';
import { TrackingIcon } from '../../ui/tracking-icon';
import { useCan } from '../access/can';
import { fromLocalInput, idempotencyKey } from './local-time';
import { PlanProblems, PlanView } from './plan-view';

const input = 'rounded border border-slate-400 px-2 py-1';

function ExportForm({ instance }: { instance: string }) {
  const id = useId();
  const [changeSet, setChangeSet] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const selection = (): ExportSelection => {
    const f = fromLocalInput(from);
    const t = fromLocalInput(to);
    return { ...(changeSet.trim() ? { changeSet: changeSet.trim() } : {}), ...(f ? { from: f } : {}), ...(t ? { to: t } : {}) };
  };
  const exporting = useMutation({
    mutationFn: () => exportSelection(selection()),
    onSuccess: (blob) => download(blob, `shiplog-${instance}-changes-${fileStamp()}.json`),
  });
  const problem = (path: string) => fieldProblem(exporting.error, path);
  return (
    <section aria-labelledby={`${id}-h`} className="rounded border border-slate-300 bg-white p-4">
      <h2 id={`${id}-h`} className="text-lg font-semibold">
        Export
      </h2>
      <p className="text-sm text-slate-600">
        A file of changes, digested and sealed with the pipeline's key; secrets stay encrypted. To export chosen changes, select them in the{' '}
        <Link to="/changes" className="text-blue-800 underline">
          change list
        </Link>
        .
      </p>
      <form
        className="mt-3 flex flex-wrap items-end gap-3 text-sm"
        onSubmit={(e) => {
          e.preventDefault();
          exporting.mutate();
        }}
      >
        <div>
          <label htmlFor={`${id}-set`} className="block font-medium">
            Change set
          </label>
          <input id={`${id}-set`} className={input} value={changeSet} onChange={(e) => setChangeSet(e.target.value)} aria-invalid={problem('changeSet') ? true : undefined} />
          {problem('changeSet') && <p className="text-xs text-red-800">{problem('changeSet')}</p>}
        </div>
        <div>
          <label htmlFor={`${id}-from`} className="block font-medium">
            Made from
          </label>
          <input id={`${id}-from`} type="datetime-local" step={1} className={input} value={from} onChange={(e) => setFrom(e.target.value)} aria-invalid={problem('from') ? true : undefined} />
          {problem('from') && <p className="text-xs text-red-800">{problem('from')}</p>}
        </div>
        <div>
          <label htmlFor={`${id}-to`} className="block font-medium">
            Made until
          </label>
          <input id={`${id}-to`} type="datetime-local" step={1} className={input} value={to} onChange={(e) => setTo(e.target.value)} aria-invalid={problem('to') ? true : undefined} />
          {problem('to') && <p className="text-xs text-red-800">{problem('to')}</p>}
        </div>
        <Button look="primary" type="submit" isDisabled={exporting.isPending || (!changeSet.trim() && !from && !to)}>
          {exporting.isPending ? 'Exporting…' : 'Export to a file'}
        </Button>
      </form>
      <div className="mt-2">
        <ProblemNotice error={exporting.error} />
      </div>
    </section>
  );
}

function ImportForm() {
  const id = useId();
  const queryClient = useQueryClient();
  const [text, setText] = useState('');
  const [fileName, setFileName] = useState<string | null>(null);
  const [planned, setPlanned] = useState<string | null>(null);
  const plan = useMutation({ mutationFn: (document: string) => importChanges(document, { dryRun: true }) });
  const run = useMutation({
    mutationFn: (document: string) => importChanges(document, { dryRun: false, idempotencyKey: idempotencyKey() }),
    onSettled: () => queryClient.invalidateQueries({ predicate: (q) => ['instances', 'changes', 'change'].includes(String(q.queryKey[0])) }),
  });
  const seen: SyncPlan | undefined = plan.data ?? refusedPlan(plan.error);
  const problems = plan.data?.problems ?? refusedProblems(plan.error);
  const done = run.data;
  // The import confirmed is the text that was planned: editing the text asks for a new plan.
  const stale = planned !== null && planned !== text;
  const documentErrors = fieldProblemsOf(plan.error);

  const choose = async (file: File | undefined) => {
    if (!file) return;
    setFileName(file.name);
    setText(await file.text());
    plan.reset();
    run.reset();
  };
  const makePlan = () => {
    run.reset();
    setPlanned(text);
    plan.mutate(text);
  };

  return (
    <section aria-labelledby={`${id}-h`} className="rounded border border-slate-300 bg-white p-4">
      <h2 id={`${id}-h`} className="text-lg font-semibold">
        Import
      </h2>
      <p className="text-sm text-slate-600">Paste an export into the memo box, or choose its file. The plan comes first; nothing is written until you confirm it.</p>
      <div className="mt-3 space-y-2 text-sm">
        <label htmlFor={`${id}-text`} className="block font-medium">
          Export document (JSON)
        </label>
        <textarea
          id={`${id}-text`}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setFileName(null);
          }}
          rows={8}
          spellCheck={false}
          aria-invalid={documentErrors.length > 0 ? true : undefined}
          aria-describedby={documentErrors.length > 0 ? `${id}-doc-problem` : undefined}
          className={`w-full rounded border px-2 py-1 font-mono text-xs ${documentErrors.length > 0 ? 'border-red-600' : 'border-slate-400'}`}
        />
        {documentErrors.length > 0 && (
          <ul id={`${id}-doc-problem`} className="list-disc pl-5 text-xs text-red-800">
            {documentErrors.map((e) => (
              <li key={`${e.path}:${e.code}`}>
                {e.path ? <code>{e.path}</code> : 'The document'}: {e.message}
              </li>
            ))}
          </ul>
        )}
        <div className="flex flex-wrap items-center gap-3">
          <label htmlFor={`${id}-file`} className="font-medium">
            Or choose a file
          </label>
          <input id={`${id}-file`} type="file" accept=".json,application/json" onChange={(e) => void choose(e.target.files?.[0])} />
          {fileName && <span className="text-slate-600">{fileName}</span>}
          <Button look={seen && !stale ? 'secondary' : 'primary'} className="ml-auto" onPress={makePlan} isDisabled={!text.trim() || plan.isPending || run.isPending}>
            {plan.isPending ? 'Planning…' : seen ? 'Plan again' : 'Show the plan'}
          </Button>
        </div>
        {plan.error !== null && !seen && problems.length === 0 && <ProblemNotice error={plan.error} />}
        {done ? (
          <>
            {!done.request && (
              <p role="status" className="rounded bg-green-50 p-2 text-green-900">
                Imported: {done.counts.toApply} {done.counts.toApply === 1 ? 'change' : 'changes'} applied in one transaction; {done.counts.alreadyPresent} were already here.
              </p>
            )}
            <PlanView plan={done} />
          </>
        ) : (
          <>
            {stale && seen && <p className="rounded bg-amber-50 p-2 text-amber-950">The text changed since this plan: plan again before importing.</p>}
            {seen ? <PlanView plan={seen} /> : <PlanProblems problems={problems} />}
            {run.isPending && (
              <div role="status" className="flex items-center gap-2 rounded bg-slate-100 p-2">
                <progress aria-label="Import under way" className="h-2 w-40" />
                Importing {seen?.changes.length} changes…
              </div>
            )}
            <ProblemNotice error={run.error} write />
            <div className="flex justify-end">
              <Button look="primary" onPress={() => planned !== null && run.mutate(planned)} isDisabled={!plan.data || stale || problems.length > 0 || plan.data.counts.toApply === 0 || run.isPending}>
                {run.isPending ? 'Importing…' : `Import ${seen?.counts.toApply ?? ''} ${seen?.counts.toApply === 1 ? 'change' : 'changes'}`}
              </Button>
            </div>
          </>
        )}
      </div>
    </section>
  );
}

function fieldProblemsOf(error: unknown): FieldProblem[] {
  return isApiError(error) ? (error.problem.errors ?? []) : [];
}

/** Export changes to a file; import a file or pasted text with the plan first. */
export function ExportImportPage() {
  const { data: identity } = useSuspenseQuery(identityQuery);
  const can = useCan();
  return (
    <main className="mx-auto max-w-5xl space-y-4 px-4 py-4">
      <div>
        <h1 className="flex items-center gap-2 text-xl font-semibold">
          Export and import <TrackingIcon />
        </h1>
        <p className="text-sm text-slate-600">Move changes between instances by file: a hotfix made in production carried back to development, or changes to an instance that is not linked.</p>
      </div>
      <ExportForm instance={identity.name} />
      {can('config:push') && <ImportForm />}
    </main>
  );
}
