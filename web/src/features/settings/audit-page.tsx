import { useQuery } from '@tanstack/react-query';
import { getRouteApi } from '@tanstack/react-router';
import { useState } from 'react';
import { auditQuery, type AuditEvent } from '../../api/sync';
import { Button } from '../../ui/button';
import { formatTime } from '../../ui/format';
import { fieldProblem, ProblemNotice } from '../../ui/problem-notice';
import type { AuditSearch } from './audit-search';

const route = getRouteApi('/app/audit');
const control = 'rounded border border-slate-400 bg-white px-2 py-1 text-sm';
const knownKinds = ['settings.changed', 'settings.lock-lifted', 'settings.lock-enabled', 'session.sign-in', 'access.denied', 'sync.push', 'sync.pull', 'sync.import', 'sync.restore'];

function toLocal(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
}

function fromLocal(value: string): string | undefined {
  const date = new Date(value);
  return value && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}

type TextFilterProps = { label: string; value: string | undefined; onCommit: (v: string | undefined) => void; list?: string };

/** A text filter committed on Enter or when the field is left; a new URL value remounts it. */
function TextFilter(props: TextFilterProps) {
  return <TextInput key={props.value ?? ''} {...props} />;
}

function TextInput({ label, value, onCommit, list }: TextFilterProps) {
  const [text, setText] = useState(value ?? '');
  const commit = () => text.trim() !== (value ?? '') && onCommit(text.trim() || undefined);
  return (
    <label className="flex flex-col text-sm font-medium">
      {label}
      <input className={control} value={text} list={list} onChange={(e) => setText(e.target.value)} onBlur={commit} onKeyDown={(e) => e.key === 'Enter' && commit()} />
    </label>
  );
}

function details(event: AuditEvent): string {
  const entries = Object.entries(event.details);
  return entries.length === 0 ? '' : entries.map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ');
}

/** The audit log, newest first, its filters in the URL so a view can be bookmarked and shared. */
export function AuditPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const { cursor, ...filters } = search;
  const events = useQuery(auditQuery(filters, cursor));
  const set = (patch: Partial<AuditSearch>) =>
    void navigate({ search: (prev) => Object.fromEntries(Object.entries({ ...prev, ...patch, cursor: undefined }).filter(([, v]) => v !== undefined)), replace: true });

  return (
    <main className="mx-auto max-w-7xl px-4 py-4">
      <h1 className="text-xl font-semibold">Audit log</h1>
      <p className="mb-3 text-sm text-slate-600">Sign-ins, settings, lock lifts, syncs, restores and refused requests on this instance, newest first.</p>
      <div className="mb-3 flex flex-wrap items-end gap-3" role="search" aria-label="Filter the audit log">
        <TextFilter label="Kind" value={search.kind} onCommit={(v) => set({ kind: v })} list="audit-kinds" />
        <datalist id="audit-kinds">
          {knownKinds.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
        <label className="flex flex-col text-sm font-medium">
          Outcome
          <select className={control} value={search.outcome ?? ''} onChange={(e) => set({ outcome: (e.target.value || undefined) as AuditSearch['outcome'] })}>
            <option value="">Any</option>
            <option value="success">Success</option>
            <option value="failure">Failure</option>
            <option value="denied">Denied</option>
          </select>
        </label>
        <TextFilter label="Actor id" value={search.actorId} onCommit={(v) => set({ actorId: v })} />
        <label className="flex flex-col text-sm font-medium">
          From
          <input type="datetime-local" step={1} className={control} value={toLocal(search.from)} onChange={(e) => set({ from: fromLocal(e.target.value) })} />
        </label>
        <label className="flex flex-col text-sm font-medium">
          To
          <input type="datetime-local" step={1} className={control} value={toLocal(search.to)} onChange={(e) => set({ to: fromLocal(e.target.value) })} />
        </label>
        {Object.keys(search).length > 0 && (
          <Button look="quiet" onPress={() => void navigate({ search: {}, replace: true })}>
            Clear filters
          </Button>
        )}
      </div>
      {(['kind', 'from', 'to', 'actorId'] as const).map((f) => fieldProblem(events.error, f) && <p key={f} className="text-sm text-red-800">{`${f}: ${fieldProblem(events.error, f)}`}</p>)}
      <ProblemNotice error={events.error} />
      {events.isPending && <p className="text-sm text-slate-600">Loading the audit log…</p>}
      {events.data && (
        <>
          <table className="w-full border-collapse bg-white text-left text-sm" aria-label="Audit events">
            <thead className="bg-slate-100 text-xs tracking-wide text-slate-700 uppercase">
              <tr>
                {['When', 'Kind', 'Outcome', 'Who', 'Subject', 'Details'].map((h) => (
                  <th key={h} scope="col" className="border-b border-slate-300 px-2 py-1.5">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody data-testid="audit-rows">
              {events.data.items.map((e) => (
                <tr key={e.id} className="border-b border-slate-100 align-top">
                  <td className="px-2 py-1 whitespace-nowrap tabular-nums">{formatTime(e.at)}</td>
                  <td className="px-2 py-1 font-mono text-xs">{e.kind}</td>
                  <td className={`px-2 py-1 ${e.outcome === 'success' ? '' : 'font-medium text-red-800'}`}>{e.outcome}</td>
                  <td className="px-2 py-1">{e.actor ? e.actor.name : 'nobody signed in'}</td>
                  <td className="px-2 py-1">{e.subject ?? '—'}</td>
                  <td className="px-2 py-1 text-xs break-all text-slate-700">
                    {details(e)}
                    {e.count !== undefined && ` (${e.count} times, last ${formatTime(e.lastAt ?? e.at)})`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {events.data.items.length === 0 && <p className="p-3 text-sm text-slate-600">No event matches these filters.</p>}
          <div className="mt-2 flex gap-2">
            {cursor && (
              <Button onPress={() => void navigate({ search: (prev) => ({ ...prev, cursor: undefined }) })}>Newest events</Button>
            )}
            {events.data.nextCursor && <Button onPress={() => void navigate({ search: (prev) => ({ ...prev, cursor: events.data.nextCursor ?? undefined }) })}>Older events</Button>}
          </div>
        </>
      )}
    </main>
  );
}
