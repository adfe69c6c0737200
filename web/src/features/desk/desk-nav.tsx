import { useSuspenseQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useEffect, useId, useState, type ReactNode } from 'react';
import { instanceQuery } from '../../api/queries';
import { fieldProblem, ProblemNotice } from '../../ui/problem-notice';

const tab = 'rounded px-2 py-1 text-slate-700 hover:bg-slate-100 [&.active]:bg-slate-200 [&.active]:font-semibold';

/** Whether the signed-in person may open the desk at all. */
export function mayUseDesk(permissions: string[]): boolean {
  return ['tickets:read', 'customers:read', 'assets:read'].some((p) => permissions.includes(p));
}

/** The desk's first screen for these permissions: tickets, else customers, else assets. */
export function deskHome(permissions: string[]): '/desk/tickets' | '/desk/customers' | '/desk/assets' {
  return permissions.includes('tickets:read') ? '/desk/tickets' : permissions.includes('customers:read') ? '/desk/customers' : '/desk/assets';
}

/** The desk's screens the signed-in person may open. */
export function DeskNav() {
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const has = (p: string) => instance.you.permissions.includes(p);
  return (
    <nav aria-label="Desk" className="flex gap-1 border-b border-slate-200 pb-2 text-sm">
      {has('tickets:read') && (
        <Link to="/desk/tickets" className={tab} activeOptions={{ includeSearch: false }}>
          Tickets
        </Link>
      )}
      {has('customers:read') && (
        <Link to="/desk/customers" className={tab} activeOptions={{ includeSearch: false }}>
          Customers
        </Link>
      )}
      {has('assets:read') && (
        <Link to="/desk/assets" className={tab} activeOptions={{ includeSearch: false }}>
          Assets
        </Link>
      )}
    </nav>
  );
}

/** Text typed into a search box, applied to the URL when the typing pauses (or on Enter). */
export function useSearchText(applied: string | undefined, apply: (text: string | undefined) => void): [string, (text: string) => void, () => void] {
  const [text, setText] = useState(applied ?? '');
  useEffect(() => {
    const timer = setTimeout(() => {
      if ((applied ?? '') !== text.trim()) apply(text.trim() || undefined);
    }, 300);
    return () => clearTimeout(timer);
  }, [text, applied, apply]);
  return [text, setText, () => apply(text.trim() || undefined)];
}

export const inputClass = 'w-full rounded border border-slate-400 bg-white px-2 py-1 text-sm';
export const linkClass = 'text-blue-800 underline underline-offset-2';

/** The search box of a desk list: what is typed applies when the typing pauses, or on Enter. */
export function SearchBox({ label, applied, apply }: { label: string; applied: string | undefined; apply: (text: string | undefined) => void }) {
  const [text, setText, applyNow] = useSearchText(applied, apply);
  return (
    <label className="flex w-80 max-w-md flex-col gap-1 text-sm">
      <span className="font-medium">{label}</span>
      <input type="search" className={inputClass} value={text} onChange={(e) => setText(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && applyNow()} />
    </label>
  );
}

/** The next page of a desk list, on request. */
export function ShowMore({ list }: { list: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => unknown } }) {
  if (!list.hasNextPage) return null;
  return (
    <button type="button" className="text-sm text-blue-800 underline" disabled={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
      {list.isFetchingNextPage ? 'Loading…' : 'Show more'}
    </button>
  );
}

/** A record's screen while it loads, or the problem when it cannot be read (another customer's is not found). */
export function Unread({ error }: { error: unknown }) {
  if (!error) return <main className="p-4">Loading…</main>;
  return (
    <main className="mx-auto max-w-3xl space-y-3 p-4">
      <DeskNav />
      <ProblemNotice error={error} />
    </main>
  );
}

/** A labelled control with the problem the API named for its field under it. */
export function DeskField({ label, path, error, children }: { label: string; path: string; error: unknown; children: (props: { id: string; 'aria-invalid'?: true; 'aria-describedby'?: string }) => ReactNode }) {
  const id = useId();
  const problem = fieldProblem(error, path);
  return (
    <div className="flex flex-col gap-1 text-sm" data-field={path}>
      <label htmlFor={id} className="font-medium">
        {label}
      </label>
      {children({ id, ...(problem ? { 'aria-invalid': true, 'aria-describedby': `${id}-problem` } : {}) })}
      {problem && (
        <p id={`${id}-problem`} className="font-medium text-red-800">
          {problem}
        </p>
      )}
    </div>
  );
}

/** A choice of named records, by name; `none` is the empty choice. */
export function Picker({ label, path, error, value, onChange, none, items }: { label: string; path: string; error: unknown; value: string; onChange: (id: string) => void; none: string; items: { id: string; name: string }[] }) {
  return (
    <DeskField label={label} path={path} error={error}>
      {(props) => (
        <select {...props} className={inputClass} value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">{none}</option>
          {items.map((item) => (
            <option key={item.id} value={item.id}>
              {item.name}
            </option>
          ))}
        </select>
      )}
    </DeskField>
  );
}

/** A text box for one field of a record. */
export function TextField({ label, path, error, value, onChange, type = 'text' }: { label: string; path: string; error: unknown; value: string; onChange: (text: string) => void; type?: 'text' | 'email' }) {
  return <DeskField label={label} path={path} error={error}>{(props) => <input {...props} type={type} className={inputClass} value={value} onChange={(e) => onChange(e.target.value)} />}</DeskField>;
}

/** A desk list's table: its headings, and its rows (`testId` names the body for tests). */
export function DeskTable({ headings, testId, children }: { headings: string[]; testId: string; children: ReactNode }) {
  return (
    <table className="w-full text-left text-sm">
      <thead className="border-b border-slate-300">
        <tr>
          {headings.map((heading) => (
            <th key={heading} className="py-1 font-semibold">
              {heading}
            </th>
          ))}
        </tr>
      </thead>
      <tbody data-testid={testId}>{children}</tbody>
    </table>
  );
}

/** A desk form: sent by its submit button or Enter, never by the browser's own validation. */
export function DeskForm({ label, className, onSubmit, children }: { label: string; className?: string; onSubmit: () => void; children: ReactNode }) {
  return (
    <form
      aria-label={label}
      noValidate
      className={className ?? 'space-y-3'}
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      {children}
    </form>
  );
}
