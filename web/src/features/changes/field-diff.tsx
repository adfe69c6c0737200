import { useId, useState } from 'react';
import type { ChangeDetail } from '../../api/queries';
import { ChangedText, LongText } from '../../ui/long-value';

type Body = Record<string, unknown> | null;

const isSecret = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && (value as { set?: unknown }).set === true;

function show(value: unknown): string {
  if (value === undefined) return '—';
  if (isSecret(value)) return '(secret set)';
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** The before and after of a change, field by field: changed fields side by side, unchanged ones folded away. */
export function FieldDiff({ change, title = 'Before and after' }: { change: Pick<ChangeDetail, 'before' | 'after' | 'diff' | 'secretsChanged'>; title?: string }) {
  const headingId = useId();
  const before = change.before as Body;
  const after = change.after as Body;
  const changedTop = new Set(change.diff.map((d) => d.path.split(/[.[]/)[0]));
  const secrets = new Set(change.secretsChanged);
  const unchanged = Object.keys({ ...before, ...after })
    .filter((key) => !changedTop.has(key) && !secrets.has(key))
    .sort();
  // A created entity had no before, a deleted one has no after: say so rather than show null.
  const beforeOf = (value: unknown) => (before === null ? '—' : show(value));
  const afterOf = (value: unknown) => (after === null ? '—' : show(value));
  // The folded fields are laid out only once opened: an entity of a megabyte need not be painted to show what changed.
  const [unfolded, setUnfolded] = useState(false);
  const secretWord = (path: string) => (before && path in before && after && path in after ? 'changed' : after && path in after ? 'set' : 'cleared');

  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId} className="mb-2 text-lg font-semibold">
        {title}
      </h2>
      <table className="w-full table-fixed border-collapse text-sm" data-testid="field-diff">
        <thead>
          <tr className="bg-slate-100 text-left">
            <th scope="col" className="w-48 border border-slate-300 px-2 py-1">
              Field
            </th>
            <th scope="col" className="border border-slate-300 px-2 py-1">
              Before{before === null ? ' (did not exist)' : ''}
            </th>
            <th scope="col" className="border border-slate-300 px-2 py-1">
              After{after === null ? ' (deleted)' : ''}
            </th>
          </tr>
        </thead>
        <tbody>
          {change.diff
            .filter((d) => !secrets.has(d.path))
            .map((d) => {
              const was = beforeOf(d.before);
              const is = afterOf(d.after);
              return (
                <tr key={d.path} className="align-top">
                  <th scope="row" className="border border-slate-300 px-2 py-1 text-left font-mono font-normal break-words">
                    {d.path}
                  </th>
                  <td className="border border-slate-300 bg-red-50 px-2 py-1">
                    <ChangedText text={was} other={is} />
                  </td>
                  <td className="border border-slate-300 bg-green-50 px-2 py-1">
                    <ChangedText text={is} other={was} />
                  </td>
                </tr>
              );
            })}
          {[...secrets].map((path) => (
            <tr key={`secret:${path}`}>
              <th scope="row" className="border border-slate-300 px-2 py-1 text-left font-mono font-normal">
                {path}
              </th>
              <td colSpan={2} className="border border-slate-300 px-2 py-1 italic">
                Secret {secretWord(path)} — its value is never shown
              </td>
            </tr>
          ))}
          {change.diff.length === 0 && secrets.size === 0 && (
            <tr>
              <td colSpan={3} className="border border-slate-300 px-2 py-1 text-slate-600">
                No field differs.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {unchanged.length > 0 && (
        <details className="mt-2 rounded border border-slate-200 bg-white" onToggle={(e) => setUnfolded(e.currentTarget.open)}>
          <summary className="cursor-pointer px-2 py-1 text-sm text-slate-700">
            {unchanged.length} unchanged {unchanged.length === 1 ? 'field' : 'fields'}
          </summary>
          {unfolded && (
            <dl className="grid grid-cols-[12rem_1fr] gap-x-3 gap-y-1 px-2 py-2 text-sm">
              {unchanged.map((key) => (
                <div key={key} className="contents">
                  <dt className="font-mono">{key}</dt>
                  <dd>
                    <LongText text={show((after ?? before)?.[key])} />
                  </dd>
                </div>
              ))}
            </dl>
          )}
        </details>
      )}
    </section>
  );
}
