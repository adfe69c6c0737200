import { useQuery } from '@tanstack/react-query';
import { useId, useState, type ReactNode } from 'react';
import { api } from '../../api/client';
import { unwrap } from '../../api/problem';
import { Button } from '../../ui/button';
import type { CatalogType } from './config-queries';
import { blankOf, formatLocation, type JsonSchema, type Location } from './json-schema';
import { Field, input, type Change } from './schema-form';
import { fieldProblem } from '../../ui/problem-notice';

/** What every hand-crafted editor is given: the type, the draft, and how to change a part of it. */
export interface EditorProps {
  type: CatalogType;
  value: Record<string, unknown>;
  change: Change;
  error: unknown;
  readOnly: boolean;
  instances: string[];
}

/** The schema of a part of the type: a number or "[]" steps into an array's items. */
export function schemaAt(root: JsonSchema, path: (string | number)[]): JsonSchema {
  let at: JsonSchema = root;
  for (const part of path) {
    const variants = at.oneOf ?? at.anyOf;
    if (variants && !at.properties && !at.items) at = variants.find((v) => v.type !== 'null') ?? at;
    at = typeof part === 'number' || part === '[]' ? (at.items ?? {}) : (at.properties?.[part] ?? {});
  }
  return at;
}

/** The generated field of one top-level property, as the generated form would show it. */
export function TopField({ type, name, value, change }: { type: CatalogType; name: string; value: Record<string, unknown>; change: Change }) {
  return <Field name={name} schema={schemaAt(type.schema, [name])} value={value[name]} location={[name]} required={(type.schema.required ?? []).includes(name)} change={change} />;
}

export function moved<T>(list: T[], from: number, to: number): T[] {
  const copy = [...list];
  const [item] = copy.splice(from, 1);
  copy.splice(to, 0, item!);
  return copy;
}

/** Move up, move down and remove for one item of an ordered list. */
export function ItemControls({ list, index, location, what, change, readOnly }: { list: unknown[]; index: number; location: Location; what: string; change: Change; readOnly: boolean }) {
  if (readOnly) return null;
  return (
    <div className="flex gap-1">
      <Button look="quiet" aria-label={`Move ${what} up`} isDisabled={index === 0} onPress={() => change(location, moved(list, index, index - 1))}>
        ↑ Up
      </Button>
      <Button look="quiet" aria-label={`Move ${what} down`} isDisabled={index === list.length - 1} onPress={() => change(location, moved(list, index, index + 1))}>
        ↓ Down
      </Button>
      <Button look="quiet" aria-label={`Remove ${what}`} onPress={() => change(location, list.filter((_, i) => i !== index))}>
        Remove
      </Button>
    </div>
  );
}

export const asList = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? (value as Record<string, unknown>[]) : []);

/** An id for a new item, unique among `taken`: the name's letters, or `prefix-n`. */
export function freshId(prefix: string, taken: unknown[]): string {
  const ids = new Set(taken.map((t) => (t && typeof t === 'object' ? String((t as { id?: unknown }).id) : String(t))));
  for (let n = taken.length + 1; ; n += 1) if (!ids.has(`${prefix}-${n}`)) return `${prefix}-${n}`;
}

export function blankItem(type: CatalogType, path: (string | number)[], fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(blankOf(schemaAt(type.schema, path)) as Record<string, unknown>), ...fields };
}

/** A section of an editor: a titled group with a short explanation. */
export function Section({ title, help, field, children }: { title: string; help?: ReactNode; field?: string; children: ReactNode }) {
  return (
    <section aria-label={title} className="space-y-3 rounded border border-slate-300 p-3" data-field={field}>
      <h2 className="text-base font-semibold">{title}</h2>
      {help && <p className="text-sm text-slate-700">{help}</p>}
      {children}
    </section>
  );
}

/** The server's words about one field, where the editor shows it. */
export function FieldMessage({ error, location }: { error: unknown; location: Location }) {
  const problem = fieldProblem(error, formatLocation(location));
  return problem ? <p className="mt-1 text-sm font-medium text-red-800">{problem}</p> : null;
}

type RecordKind = 'customers' | 'agents';

/** Desk records (customers, agents) by name, for a picker: the first 200 matching the text typed. */
function useRecords(kind: RecordKind, q: string) {
  return useQuery({
    queryKey: ['records', kind, q],
    staleTime: 30_000,
    queryFn: async ({ signal }) => {
      const query = { limit: 200, ...(q ? { q } : {}) };
      const page = kind === 'customers' ? unwrap(await api.GET('/v1/customers', { params: { query }, signal })) : unwrap(await api.GET('/v1/agents', { params: { query }, signal }));
      return page.items.map((r) => ({ id: r.id, name: r.name }));
    },
  });
}

/** A list of desk records chosen by name (customers of a rule or a role, agents holding a role). */
export function RecordsPicker({ kind, label, chosen, onChange, readOnly, location, error, help }: { kind: RecordKind; label: string; chosen: string[]; onChange: (next: string[]) => void; readOnly: boolean; location: Location; error: unknown; help?: string }) {
  const id = useId();
  const [q, setQ] = useState('');
  const all = useRecords(kind, '');
  const found = useRecords(kind, q.trim());
  const nameOf = (recordId: string) => all.data?.find((r) => r.id === recordId)?.name ?? found.data?.find((r) => r.id === recordId)?.name ?? recordId;
  const one = kind === 'customers' ? 'a customer' : 'an agent';
  return (
    <div data-field={formatLocation(location)} className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      {help && <p className="text-xs text-slate-600">{help}</p>}
      {chosen.length === 0 ? (
        <p className="text-sm text-slate-600">No {kind} chosen.</p>
      ) : (
        <ul className="flex flex-wrap gap-2" aria-label={label}>
          {chosen.map((recordId) => (
            <li key={recordId} className="inline-flex items-center gap-1 rounded bg-slate-100 px-2 py-0.5 text-sm">
              {nameOf(recordId)}
              {!readOnly && (
                <button type="button" aria-label={`Remove ${nameOf(recordId)}`} className="px-1 text-slate-700" onClick={() => onChange(chosen.filter((c) => c !== recordId))}>
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {!readOnly && (
        <div className="flex flex-wrap items-center gap-2">
          <input type="search" aria-label={`Find ${one} by name`} placeholder={`Find ${one}…`} className={`${input} max-w-xs`} value={q} onChange={(e) => setQ(e.target.value)} />
          <select
            id={id}
            className={`${input} max-w-xs`}
            value=""
            aria-invalid={Boolean(fieldProblem(error, formatLocation(location))) || undefined}
            onChange={(e) => e.target.value && onChange([...chosen, e.target.value])}
          >
            <option value="">{`Add ${one}…`}</option>
            {(found.data ?? []).filter((r) => !chosen.includes(r.id)).map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </div>
      )}
      {(all.error ?? found.error) ? <p className="text-sm text-amber-900">The {kind} could not be listed: {String((all.error ?? found.error)?.message)}</p> : null}
      <FieldMessage error={error} location={location} />
    </div>
  );
}
