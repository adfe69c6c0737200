import { canonicalJson } from '../shared/canonical-json.js';
import { isRecord } from '../shared/field-path.js';

export interface FieldDiff {
  path: string;
  before: unknown;
  after: unknown;
}

/** Field-by-field differences between two bodies; objects are descended, arrays compared whole. */
export function diffBodies(before: Record<string, unknown> | null, after: Record<string, unknown> | null): FieldDiff[] {
  const out: FieldDiff[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (isRecord(a) && isRecord(b)) {
      for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
        walk(a[key], b[key], path ? `${path}.${key}` : key);
      }
      return;
    }
    if (canonicalJson(a ?? null) !== canonicalJson(b ?? null)) out.push({ path, before: a ?? null, after: b ?? null });
  };
  walk(before ?? {}, after ?? {}, '');
  return out;
}
