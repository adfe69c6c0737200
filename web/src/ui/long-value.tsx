import { useState } from 'react';

/** Values longer than this are shown clipped until asked for: laying out a megabyte of text takes the browser seconds. */
export const CLIP_AT = 2_000;
const CONTEXT = 300;

const count = (n: number) => `${n.toLocaleString('en')} ${n === 1 ? 'character' : 'characters'}`;

/** A text that may be very long: the first part, and the whole only when the person asks. */
export function LongText({ text, className = '' }: { text: string; className?: string }) {
  const [whole, setWhole] = useState(false);
  const clipped = !whole && text.length > CLIP_AT;
  return (
    <>
      <pre className={`font-mono break-words whitespace-pre-wrap ${className}`}>{clipped ? `${text.slice(0, CLIP_AT)}…` : text}</pre>
      {clipped && (
        <button type="button" className="text-xs text-blue-800 underline" onClick={() => setWhole(true)}>
          Show all {count(text.length)}
        </button>
      )}
    </>
  );
}

/** Where two long texts part: the length they share at the start and at the end. */
export function commonEnds(a: string, b: string): { prefix: number; suffix: number } {
  const max = Math.min(a.length, b.length);
  let prefix = 0;
  while (prefix < max && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix += 1;
  let suffix = 0;
  while (suffix < max - prefix && a.charCodeAt(a.length - 1 - suffix) === b.charCodeAt(b.length - 1 - suffix)) suffix += 1;
  return { prefix, suffix };
}

/**
 * One side of a long value that changed: only the part that differs, with a little context, the identical rest folded
 * into a count of characters; the whole on request.
 */
export function ChangedText({ text, other, className = '' }: { text: string; other: string; className?: string }) {
  const [whole, setWhole] = useState(false);
  if (whole || text.length <= CLIP_AT) return <LongText text={text} className={className} />;
  const { prefix, suffix } = commonEnds(text, other);
  const from = Math.max(0, prefix - CONTEXT);
  const to = Math.min(text.length, Math.max(from, text.length - suffix + CONTEXT));
  const middle = text.slice(from, Math.min(to, from + CLIP_AT * 2));
  return (
    <>
      <pre className={`font-mono break-words whitespace-pre-wrap ${className}`}>
        {from > 0 && <span className="text-slate-600 italic">[{count(from)} the same before] …</span>}
        {middle}
        {to < text.length || from + middle.length < text.length ? <span className="text-slate-600 italic">… [{count(text.length - from - middle.length)} more]</span> : null}
      </pre>
      <button type="button" className="text-xs text-blue-800 underline" onClick={() => setWhole(true)}>
        Show all {count(text.length)}
      </button>
    </>
  );
}
