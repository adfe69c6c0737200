import * as crypto from 'node:crypto';
import { DomainError } from './errors.js';

// One-shot hashing (Node 20.12 and later) creates no Hash object per call; older versions hash as before.
const hashOnce = (crypto as Partial<typeof crypto>).hash;

// JSON.stringify writes a string without a quote, backslash, control character or surrogate as it is, between quotes.
// eslint-disable-next-line no-control-regex -- the control characters are what JSON.stringify escapes
const ESCAPED_OR_SURROGATE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `JSON.stringify(text)` of a string that is well-formed Unicode, undefined for any other: the usual string, which
 * needs no escape, costs one scan and no call into the serialiser.
 */
export function jsonStringOf(text: string): string | undefined {
  if (!ESCAPED_OR_SURROGATE.test(text)) return `"${text}"`;
  return isWellFormedText(text) ? JSON.stringify(text) : undefined;
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

/**
 * The path of the first string or key in a JSON value that is not well-formed Unicode (`[2].name`, `` for the value
 * itself), or null when every one is.
 */
export function illFormedPath(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return isWellFormedText(value) ? null : path;
  if (value === null || typeof value !== 'object') return null;
  const array = Array.isArray(value);
  for (const [key, item] of Object.entries(value)) {
    // Members that canonical JSON leaves out are not looked at either.
    if (!array && (item === undefined || typeof item === 'function')) continue;
    const at = array ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (!array && !isWellFormedText(key)) return at;
    const found = illFormedPath(item, at);
    if (found !== null) return found;
  }
  return null;
}

/**
 * RFC 8785 canonical JSON: keys sorted by UTF-16 code units, ECMAScript number and string forms,
 * no whitespace. The same value always gives the same text. Text that is not well-formed Unicode is refused.
 */
export function canonicalJson(value: unknown): string {
  return canonicalText(value, false)!;
}

/**
 * `canonicalJson(value)` for plain JSON data whose `JSON.stringify` text is `json`. JSON.stringify writes a backslash
 * for every quote, backslash, control character and lone surrogate of a string, key or value; a text without one
 * vouches that no string of the value needs a scan, and each is quoted as it stands. Anything JSON.stringify may not
 * have looked into (an object with `toJSON` or a prototype of its own) is serialised by `canonicalJson` instead.
 */
export function canonicalJsonBeside(value: unknown, json: string): string {
  return (json.includes('\\') ? undefined : canonicalText(value, true)) ?? canonicalJson(value);
}

/** The canonical text of `value`; `plain`: its strings are known to need no escape (undefined: not plain JSON data after all). */
function canonicalText(value: unknown, plain: boolean): string | undefined {
  switch (typeof value) {
    case 'string': {
      if (plain) return `"${value}"`;
      const text = jsonStringOf(value);
      if (text === undefined) throw notWellFormed();
      return text;
    }
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('non-finite number cannot be represented as JSON');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (plain && !isPlainData(value)) return undefined;
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i += 1) {
          const item: unknown = value[i];
          if (i > 0) out += ',';
          if (item === undefined) out += 'null';
          else {
            const text = canonicalText(item, plain);
            if (text === undefined) return undefined;
            out += text;
          }
        }
        return `${out}]`;
      }
      return canonicalOfMembers(value as Record<string, unknown>, plain);
    }
    default:
      throw new TypeError(`${typeof value} cannot be represented as JSON`);
  }
}

/** An array or object as JSON.parse makes them: what JSON.stringify serialises member by member. */
function isPlainData(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return Array.isArray(value) ? proto === Array.prototype : (proto === Object.prototype || proto === null) && !('toJSON' in value);
}

// Objects of a batch come in a few shapes (a change, each type's body): their keys are sorted once per shape seen lately.
const SHAPES_KEPT = 16;
const shapeKeys: string[][] = [];
const shapes: KeyShape[] = [];
let nextShape = 0;

/** An object's keys sorted as `Object.keys(record).sort()`, and each one quoted (undefined: not well-formed Unicode). */
export interface KeyShape {
  keys: readonly string[];
  quoted: readonly (string | undefined)[];
}

/** The sorted keys of `record`: a key list equal, member for member, to one seen lately is not sorted or quoted again. */
export function keyShapeOf(record: object): KeyShape {
  const keys = Object.keys(record);
  const count = keys.length;
  next: for (let s = 0; s < shapeKeys.length; s += 1) {
    const known = shapeKeys[s]!;
    if (known.length !== count) continue;
    for (let i = 0; i < count; i += 1) if (known[i] !== keys[i]) continue next;
    return shapes[s]!;
  }
  const sorted = [...keys].sort();
  const shape = { keys: sorted, quoted: sorted.map(jsonStringOf) };
  shapeKeys[nextShape] = keys;
  shapes[nextShape] = shape;
  nextShape = (nextShape + 1) % SHAPES_KEPT;
  return shape;
}

/** `JSON.stringify` of the shape's key at `index`; a key that is not well-formed Unicode is refused (notWellFormed). */
export function quotedAt(shape: KeyShape, index: number): string {
  const text = shape.quoted[index];
  if (text === undefined) throw notWellFormed();
  return text;
}

function canonicalOfMembers(record: Record<string, unknown>, plain: boolean): string | undefined {
  const shape = keyShapeOf(record);
  const { keys } = shape;
  let out = '{';
  for (let i = 0; i < keys.length; i += 1) {
    const item = record[keys[i]!];
    if (item === undefined || typeof item === 'function') continue;
    const text = canonicalText(item, plain);
    if (text === undefined) return undefined;
    if (out.length > 1) out += ',';
    out += `${quotedAt(shape, i)}:${text}`;
  }
  return `${out}}`;
}

export function sha256Hex(text: string): string {
  return hashOnce ? hashOnce('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}
