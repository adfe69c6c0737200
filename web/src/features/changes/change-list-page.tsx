import { useInfiniteQuery, useMutation, useSuspenseQuery } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { useVirtualizer } from '@tanstack/react-virtual';
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { changesQuery, exportChanges, identityQuery, instanceQuery, type ChangeListItem } from '../../api/queries';
import { Button } from '../../ui/button';
import { formatTime, operationLabels } from '../../ui/format';
import { ProblemNotice } from '../../ui/problem-notice';
import { TrackingIcon } from '../../ui/tracking-icon';
import { ColumnFilters, TimeframeFilter, useOrigins, type SetFilter } from './change-filters';

const route = getRouteApi('/app/changes');
// The sync feature's dialog loads only when a person opens it: the first screen stays small.
const SendChangesDialog = lazy(() => import('../sync/send-changes-dialog').then((m) => ({ default: m.SendChangesDialog })));
const ROW_HEIGHT = 40;
const columns = '2rem 11rem 9rem minmax(12rem,1fr) 6rem 10rem 10rem 9rem';
const headers = ['When', 'Type', 'Entity', 'Operation', 'Actor', 'Origin', 'Change set'];

function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function ChangeListPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const { data: identity } = useSuspenseQuery(identityQuery);
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const origins = useOrigins();
  const changes = useInfiniteQuery(changesQuery(search));
  const rows = useMemo(() => changes.data?.pages.flatMap((p) => p.items) ?? [], [changes.data]);
  const [selected, setSelected] = useState<Map<string, ChangeListItem>>(new Map());
  const [sending, setSending] = useState<'push' | 'pull' | null>(null);
  const canSync = instance.you.permissions.includes('config:push');
  const exporting = useMutation({
    mutationFn: () => exportChanges([...selected.keys()]),
    onSuccess: (blob) => download(blob, `shiplog-${identity.name}-changes-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}.json`),
  });

  const set: SetFilter = useCallback(
    (patch) => void navigate({ search: (prev) => Object.fromEntries(Object.entries({ ...prev, ...patch }).filter(([, v]) => v !== undefined)), replace: true }),
    [navigate],
  );

  const scroller = useRef<HTMLDivElement>(null);
  // The first rows render with the first render, before the scroller is measured (its height is the window's less 20rem).
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 10, initialRect: { width: 0, height: Math.max(256, window.innerHeight - 320) } });
  const items = virtualizer.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= rows.length - 10 && changes.hasNextPage && !changes.isFetchingNextPage) void changes.fetchNextPage();
  }, [last, rows.length, changes]);

  const toggle = (change: ChangeListItem) =>
    setSelected((current) => {
      const next = new Map(current);
      if (next.has(change.id)) next.delete(change.id);
      else next.set(change.id, change);
      return next;
    });
  const filtered = Object.keys(search).length > 0;

  return (
    <main className="mx-auto max-w-7xl px-4 py-4" style={{ ['--change-columns' as string]: columns }}>
      <div className="mb-3 flex flex-wrap items-end gap-4">
        <div className="mr-auto">
          <h1 className="flex items-center gap-2 text-xl font-semibold">
            Changes <TrackingIcon />
          </h1>
          <p className="text-sm text-slate-600">Every change to tracked configuration on {identity.name}, newest first.</p>
        </div>
        <TimeframeFilter search={search} set={set} />
        {filtered && (
          <Button look="quiet" onPress={() => void navigate({ search: {}, replace: true })}>
            Clear filters
          </Button>
        )}
      </div>
      <div className="mb-2 flex items-center gap-3 text-sm">
        <span aria-live="polite">{selected.size === 0 ? `Select changes to export${canSync ? ' or push' : ''} them.` : `${selected.size} selected`}</span>
        <Button look="primary" isDisabled={selected.size === 0 || exporting.isPending} onPress={() => exporting.mutate()}>
          {exporting.isPending ? 'Exporting…' : 'Export selected'}
        </Button>
        {canSync && (
          <>
            <Button isDisabled={selected.size === 0} onPress={() => setSending('push')}>
              Push selected…
            </Button>
            <Button onPress={() => setSending('pull')}>Pull…</Button>
          </>
        )}
        {selected.size > 0 && (
          <Button look="quiet" onPress={() => setSelected(new Map())}>
            Clear selection
          </Button>
        )}
      </div>
      <ProblemNotice error={exporting.error} />
      {sending && (
        <Suspense fallback={null}>
          <SendChangesDialog operation={sending} changes={[...selected.values()]} onClose={() => setSending(null)} />
        </Suspense>
      )}
      <div role="table" aria-label="Changes" aria-rowcount={rows.length + 2} className="overflow-hidden rounded border border-slate-300 bg-white">
        <div role="rowgroup">
          <div role="row" className="grid grid-cols-[var(--change-columns)] gap-2 border-b border-slate-300 bg-slate-100 px-2 py-1.5 text-left text-xs font-semibold tracking-wide text-slate-700 uppercase">
            <span role="columnheader">
              <span className="sr-only">Select</span>
            </span>
            {headers.map((h) => (
              <span role="columnheader" key={h}>
                {h}
              </span>
            ))}
          </div>
          <ColumnFilters search={search} set={set} />
        </div>
        <div ref={scroller} className="h-[calc(100vh-20rem)] min-h-64 overflow-y-auto" data-testid="change-rows">
          {changes.isPending && <p className="p-4 text-sm text-slate-600">Loading changes…</p>}
          {changes.isError && (
            <div className="p-3">
              <ProblemNotice error={changes.error} />
            </div>
          )}
          {changes.isSuccess && rows.length === 0 && <p className="p-4 text-sm text-slate-600">{filtered ? 'No change matches these filters.' : 'No changes yet.'}</p>}
          <div role={rows.length > 0 ? 'rowgroup' : undefined} style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {items.map((item) => (
              <ChangeRow
                key={item.key}
                change={rows[item.index]!}
                top={item.start}
                index={item.index}
                origin={origins.get(rows[item.index]!.origin) ?? `instance ${rows[item.index]!.origin}`}
                selected={selected.has(rows[item.index]!.id)}
                onToggle={toggle}
              />
            ))}
          </div>
          {changes.isFetchingNextPage && <p className="p-2 text-center text-sm text-slate-600">Loading more…</p>}
        </div>
      </div>
    </main>
  );
}

function ChangeRow({ change, top, index, origin, selected, onToggle }: { change: ChangeListItem; top: number; index: number; origin: string; selected: boolean; onToggle: (change: ChangeListItem) => void }) {
  return (
    <div
      role="row"
      aria-rowindex={index + 3}
      data-change-id={change.id}
      data-type={change.type}
      className={`absolute inset-x-0 grid grid-cols-[var(--change-columns)] items-center gap-2 border-b border-slate-100 px-2 text-sm ${selected ? 'bg-blue-50' : 'hover:bg-slate-50'}`}
      style={{ height: ROW_HEIGHT, transform: `translateY(${top}px)` }}
    >
      <span role="cell">
        <input type="checkbox" aria-label={`Select ${change.entityName} ${operationLabels[change.op] ?? change.op}`} checked={selected} onChange={() => onToggle(change)} />
      </span>
      <span role="cell" className="truncate tabular-nums">
        {formatTime(change.at)}
      </span>
      <span role="cell" className="truncate">
        {change.type}
      </span>
      <span role="cell" className="truncate">
        <Link to="/changes/$changeId" params={{ changeId: change.id }} className="font-medium text-blue-800 hover:underline">
          {change.entityName || change.entityId}
        </Link>
        {change.revertOf && <span className="ml-2 rounded bg-slate-200 px-1 text-xs">rollback</span>}
      </span>
      <span role="cell">{operationLabels[change.op] ?? change.op}</span>
      <span role="cell" className="truncate" title={change.actor.kind}>
        {change.actor.name}
      </span>
      <span role="cell" className="truncate">
        {origin}
      </span>
      <span role="cell" className="truncate">
        {change.changeSet ?? '—'}
      </span>
    </div>
  );
}
