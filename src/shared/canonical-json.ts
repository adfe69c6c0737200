import * as crypto from 'node:crypto';
import { DomainError } from './errors.js';

// One-shot hashing (Node 20.12 and later) creates no Hash object per call; older versions hash as before.
const hashOnce = (crypto as Partial<typeof crypto>).hash;

// Keys repeat across bodies and changes; their quoted forms are kept (bounded) rather than escaped again each time.
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_KEPT = 10_000;

function quoted(key: string): string {
  let text = quotedKeys.get(key);
  if (text === undefined) {
    text = jsonString(key);
    if (quotedKeys.size < QUOTED_KEYS_KEPT) quotedKeys.set(key, text);
  }
  return text;
}

/** Whether a string is well-formed Unicode: no lone surrogate (String.prototype.isWellFormed, ES2024). */
export function isWellFormedText(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/**
 * VALIDATION_FAILED for text that is not well-formed Unicode. Such text has no UTF-8 form: a database column stores it
 * altered (a lone surrogate becomes U+FFFD), so what was digested would differ from what is read back.
 */
export function notWellFormed(path = ''): DomainError {
  const message = 'Text must be well-formed Unicode: it holds a lone surrogate (an unpaired \\uD800–\\uDFFF).';
  return new DomainError('VALIDATION_FAILED', message, { errors: [{ path, code: 'invalid-unicode', message }] });
}

/** `JSON.stringify` of a string that is well-formed Unicode; refuses any other (see notWellFormed). */
export function jsonString(text: string): string {
  if (!isWellFormedText(text)) throw notWellFormed();
  return JSON.stringify(text);
}

/**
 * RFC 8785 canonical JSON: keys sorted by UTF-16 code units, ECMAScript number and string forms,
 * no whitespace. The same value always gives the same text. Text that is not well-formed Unicode is refused.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return jsonString(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('non-finite number cannot be represented as JSON');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i += 1) {
          const item: unknown = value[i];
          if (i > 0) out += ',';
          out += item === undefined ? 'null' : canonicalJson(item);
        }
        return `${out}]`;
      }
      return canonicalJsonWithout(value as Record<string, unknown>, NOTHING);
    }
    default:
      throw new TypeError(`${typeof value} cannot be represented as JSON`);
  }
}

const NOTHING: ReadonlySet<string> = new Set();

/** `canonicalJson` of the object without the members named in `omit` (and without copying it). */
export function canonicalJsonWithout(record: Record<string, unknown>, omit: ReadonlySet<string>): string {
  let out = '{';
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item === undefined || typeof item === 'function' || omit.has(key)) continue;
    if (out.length > 1) out += ',';
    out += `${quoted(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}

export function sha256Hex(text: string): string {
  return hashOnce ? hashOnce('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}
