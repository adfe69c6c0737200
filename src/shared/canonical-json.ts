import * as crypto from 'node:crypto';

// One-shot hashing (Node 20.12 and later) creates no Hash object per call; older versions hash as before.
const hashOnce = (crypto as Partial<typeof crypto>).hash;

/**
 * RFC 8785 canonical JSON: keys sorted by UTF-16 code units, ECMAScript number and string forms,
 * no whitespace. The same value always gives the same text.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('non-finite number cannot be represented as JSON');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const item = record[key];
      if (item === undefined || typeof item === 'function') continue;
      parts.push(`${JSON.stringify(key)}:${canonicalJson(item)}`);
    }
    return `{${parts.join(',')}}`;
  }
  throw new TypeError(`${typeof value} cannot be represented as JSON`);
}

export function sha256Hex(text: string): string {
  return hashOnce ? hashOnce('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}
