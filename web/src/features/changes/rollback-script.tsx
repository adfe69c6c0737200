import { useMemo, useState } from 'react';
import type { ChangeDetail } from '../../api/queries';
import { CLIP_AT } from '../../ui/long-value';

/** JSON of `value` with each string longer than CLIP_AT cut to its start, and how many were cut. */
function clippedJson(value: unknown): { text: string; clipped: number } {
  let clipped = 0;
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v !== 'string' || v.length <= CLIP_AT) return v;
      clipped += 1;
      return `${v.slice(0, CLIP_AT)}… [${(v.length - CLIP_AT).toLocaleString('en')} more characters]`;
    },
    2,
  );
  return { text, clipped };
}

/** The script as JSON, each long string clipped to its start unless the person asks for all of it. */
export function RollbackScript({ script }: { script: ChangeDetail['rollbackScript'] }) {
  const [whole, setWhole] = useState(false);
  const { text, clipped } = useMemo(() => (whole ? { text: JSON.stringify(script, null, 2), clipped: 0 } : clippedJson(script)), [script, whole]);
  return (
    <>
      <pre className="max-h-72 overflow-auto rounded bg-slate-900 p-3 text-xs text-slate-100" tabIndex={0}>
        {text}
      </pre>
      {clipped > 0 && (
        <button type="button" className="mt-1 text-xs text-blue-800 underline" onClick={() => setWhole(true)}>
          {clipped === 1 ? 'One long value is' : `${clipped} long values are`} clipped: show the script in full
        </button>
      )}
    </>
  );
}
