import { useSyncExternalStore, useState } from 'react';
import { Button } from '../../ui/button';

const KEY = 'shiplog.changeSet';
const listeners = new Set<() => void>();

function read(): string | null {
  return sessionStorage.getItem(KEY);
}

function write(label: string | null): void {
  if (label) sessionStorage.setItem(KEY, label);
  else sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener();
}

/** The change-set label of this session of work (this tab): every save sends it as X-Change-Set. */
export function useChangeSet(): string | null {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    read,
  );
}

export function ChangeSetControl() {
  const current = useChangeSet();
  const [draft, setDraft] = useState(current ?? '');
  return (
    <form
      className="flex flex-wrap items-end gap-2 rounded border border-slate-200 bg-slate-50 px-3 py-2 text-sm"
      aria-label="Change set"
      onSubmit={(e) => {
        e.preventDefault();
        write(draft.trim() || null);
      }}
    >
      <label className="flex flex-col gap-1">
        <span className="font-medium">Change set for this session</span>
        <input className="w-56 rounded border border-slate-400 px-2 py-1" value={draft} placeholder="e.g. co-managed-setup" onChange={(e) => setDraft(e.target.value)} />
      </label>
      <Button type="submit">Use this label</Button>
      {current && (
        <Button
          look="quiet"
          onPress={() => {
            setDraft('');
            write(null);
          }}
        >
          Stop labelling
        </Button>
      )}
      <p className="basis-full text-slate-700" data-testid="change-set-current">
        {current ? (
          <>
            Saves are labelled <strong>{current}</strong>.
          </>
        ) : (
          'Saves carry no change-set label.'
        )}
      </p>
    </form>
  );
}
