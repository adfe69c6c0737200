import { useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { useEffect, useId, useState } from 'react';
import { catalogQuery, identityQuery, peersQuery } from '../../api/queries';
import type { ChangeSearch } from './change-search';
import { fromLocalInput, since, timeframes, toLocalInput } from './timeframe';

const control = 'w-full rounded border border-slate-400 bg-white px-1.5 py-1 text-sm';

/** A text filter that reaches the URL when the person pauses typing, presses Enter or leaves the field. */
function TextFilter({ label, value, onCommit }: { label: string; value: string | undefined; onCommit: (value: string | undefined) => void }) {
  const [text, setText] = useState(value ?? '');
  // The URL changed from elsewhere (cleared, back, a link): show its value; focus stays where it is.
  const [shown, setShown] = useState(value);
  if (value !== shown) {
    setShown(value);
    setText(value ?? '');
  }
  useEffect(() => {
    if (text === (value ?? '')) return;
    const timer = setTimeout(() => onCommit(text.trim() || undefined), 400);
    return () => clearTimeout(timer);
  }, [text, value, onCommit]);
  return (
    <input
      aria-label={label}
      placeholder="Filter…"
      className={control}
      value={text}
      onChange={(e) => setText(e.target.value)}
      onKeyDown={(e) => e.key === 'Enter' && onCommit(text.trim() || undefined)}
      onBlur={() => text !== (value ?? '') && onCommit(text.trim() || undefined)}
    />
  );
}

/** Changes some filters at once; undefined removes one. */
export type SetFilter = (patch: { [K in keyof ChangeSearch]?: ChangeSearch[K] | undefined }) => void;

/** The filter under each column of the change list. */
export function ColumnFilters({ search, set }: { search: ChangeSearch; set: SetFilter }) {
  const catalog = useQuery(catalogQuery);
  const origins = useOrigins();
  return (
    <div role="row" className="grid grid-cols-[var(--change-columns)] items-center gap-2 border-b border-slate-300 bg-slate-50 px-2 py-1.5">
      <span role="columnheader" aria-label="Select" />
      <span role="columnheader" className="text-xs text-slate-600">
        {search.from || search.to ? 'Timeframe set above' : 'Any time (set above)'}
      </span>
      <span role="columnheader">
        <select aria-label="Filter by type" className={control} value={search.type ?? ''} onChange={(e) => set({ type: e.target.value || undefined })}>
          <option value="">All types</option>
          {(catalog.data ?? []).map((t) => (
            <option key={t.key} value={t.key}>
              {t.label}
            </option>
          ))}
          {search.type && !catalog.data?.some((t) => t.key === search.type) && <option value={search.type}>{search.type}</option>}
        </select>
      </span>
      <span role="columnheader" className="flex gap-1">
        <TextFilter label="Filter by text in the entity's name" value={search.q} onCommit={(v) => set({ q: v })} />
        <TextFilter label="Filter by entity id" value={search.entityId} onCommit={(v) => set({ entityId: v })} />
      </span>
      <span role="columnheader">
        <select aria-label="Filter by operation" className={control} value={search.op ?? ''} onChange={(e) => set({ op: (e.target.value || undefined) as ChangeSearch['op'] })}>
          <option value="">All</option>
          <option value="create">Created</option>
          <option value="update">Updated</option>
          <option value="delete">Deleted</option>
        </select>
      </span>
      <span role="columnheader">
        <TextFilter label="Filter by actor" value={search.actor} onCommit={(v) => set({ actor: v })} />
      </span>
      <span role="columnheader">
        <select aria-label="Filter by origin" className={control} value={search.origin ?? ''} onChange={(e) => set({ origin: e.target.value || undefined })}>
          <option value="">Any instance</option>
          {[...origins].map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
      </span>
      <span role="columnheader">
        <TextFilter label="Filter by change set" value={search.changeSet} onCommit={(v) => set({ changeSet: v })} />
      </span>
    </div>
  );
}

/** Instance ids to names: this instance and every linked peer that has answered. */
export function useOrigins(): Map<string, string> {
  const { data: identity } = useSuspenseQuery(identityQuery);
  const peers = useQuery(peersQuery);
  const names = new Map<string, string>([[identity.id, `${identity.name} (this instance)`]]);
  for (const peer of peers.data ?? []) {
    // A peer's source is named too: changes often come from two stages up the pipeline.
    if (peer.source && !names.has(peer.source.instanceId)) names.set(peer.source.instanceId, peer.source.name);
  }
  for (const peer of peers.data ?? []) if (peer.instanceId) names.set(peer.instanceId, peer.name);
  return names;
}

/** Presets and a from–to range; the range is what goes to the server. */
export function TimeframeFilter({ search, set }: { search: ChangeSearch; set: SetFilter }) {
  const [preset, setPreset] = useState<string>(search.from || search.to ? 'custom' : 'any');
  const id = useId();
  const choose = (value: string) => {
    setPreset(value);
    const frame = timeframes.find((t) => t.id === value);
    if (frame) set({ to: undefined, from: frame.hours === null ? undefined : since(frame.hours) });
  };
  const edge = (key: 'from' | 'to', label: string) => (
    <div className="flex flex-col gap-0.5">
      <label htmlFor={`${id}-${key}`} className="font-medium">
        {label}
      </label>
      <input
        id={`${id}-${key}`}
        type="datetime-local"
        className={control}
        value={toLocalInput(search[key])}
        onChange={(e) => {
          setPreset('custom');
          set({ [key]: fromLocalInput(e.target.value) });
        }}
      />
    </div>
  );
  return (
    <fieldset className="flex flex-wrap items-end gap-3 text-sm">
      <legend className="sr-only">Timeframe of the changes</legend>
      <div className="flex flex-col gap-0.5">
        <label htmlFor={`${id}-frame`} className="font-medium">
          Timeframe
        </label>
        <select id={`${id}-frame`} className={control} value={preset} onChange={(e) => choose(e.target.value)}>
          {timeframes.map((t) => (
            <option key={t.id} value={t.id}>
              {t.label}
            </option>
          ))}
          <option value="custom">Custom range</option>
        </select>
      </div>
      {edge('from', 'From')}
      {edge('to', 'To')}
    </fieldset>
  );
}
