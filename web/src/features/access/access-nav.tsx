import { Link } from '@tanstack/react-router';
import { useEffect, useState } from 'react';

const tab = 'rounded px-2 py-1 text-slate-700 hover:bg-slate-100 [&.active]:bg-slate-200 [&.active]:font-semibold';

/** Access: agents and API applications, side by side. */
export function AccessNav() {
  return (
    <nav aria-label="Access" className="flex gap-1 text-sm">
      <Link to="/access/agents" className={tab}>
        Agents
      </Link>
      <Link to="/access/applications" className={tab}>
        API applications
      </Link>
    </nav>
  );
}

/** Search text kept in the URL, applied after a pause in typing or on Enter. */
export function useSearchText(q: string | undefined, apply: (q: string | undefined) => void): [string, (text: string) => void, () => void] {
  const [text, setText] = useState(q ?? '');
  const now = () => {
    if ((q ?? '') !== text.trim()) apply(text.trim() || undefined);
  };
  useEffect(() => {
    const timer = setTimeout(() => {
      if ((q ?? '') !== text.trim()) apply(text.trim() || undefined);
    }, 300);
    return () => clearTimeout(timer);
  }, [text, q, apply]);
  return [text, setText, now];
}

export function SearchBox({ label, text, setText, now }: { label: string; text: string; setText: (text: string) => void; now: () => void }) {
  return (
    <label className="flex max-w-md flex-col gap-1 text-sm">
      <span className="font-medium">{label}</span>
      <input type="search" className="rounded border border-slate-400 px-2 py-1" value={text} onChange={(e) => setText(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && now()} />
    </label>
  );
}

export const linkButton = 'rounded bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800';
export const cell = 'py-1.5 pr-3';
export const headCell = 'py-1 pr-3 font-semibold';
