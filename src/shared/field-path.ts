/**
 * Field paths of the catalog: dot-separated keys, `[]` after a key for "every item of this array".
 * `steps[].actions[].teamIds[]` names every team id of every action of every step.
 */
export type Location = (string | number)[];

export interface PathHit {
  /** Concrete location as keys and indexes. */
  location: Location;
  /** Stable name of the location: array items that carry an `id` are named by it, others by index. */
  stableName: string;
  value: unknown;
}

interface Segment {
  key: string;
  each: boolean;
}

// Paths come from the catalog: few, and parsed once each.
const parsedPaths = new Map<string, Segment[]>();

function parse(path: string): Segment[] {
  let segments = parsedPaths.get(path);
  if (!segments) {
    segments = path.split('.').map((part) => (part.endsWith('[]') ? { key: part.slice(0, -2), each: true } : { key: part, each: false }));
    if (parsedPaths.size < 10_000) parsedPaths.set(path, segments);
  }
  return segments;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every present (non-null) value at `path` in `root`; with `includeMissing`, also leaves whose parent exists. */
export function collectPath(root: unknown, path: string, includeMissing = false): PathHit[] {
  const hits: PathHit[] = [];
  const walk = (node: unknown, segments: Segment[], location: Location, stable: string): void => {
    const [head, ...rest] = segments;
    if (!head) {
      if (includeMissing || (node !== undefined && node !== null)) hits.push({ location, stableName: stable, value: node });
      return;
    }
    if (!isRecord(node)) return;
    const child = node[head.key];
    const here = stable ? `${stable}.${head.key}` : head.key;
    if (!head.each) {
      walk(child, rest, [...location, head.key], here);
      return;
    }
    if (!Array.isArray(child)) return;
    child.forEach((item, i) => {
      const itemId = isRecord(item) && typeof item.id === 'string' ? item.id : null;
      walk(item, rest, [...location, head.key, i], itemId ? `${here}[${itemId}]` : `${here}[${i}]`);
    });
  };
  walk(root, parse(path), [], '');
  return hits;
}

/**
 * The string values at `path` in `root`, each with its location as `formatLocation` writes it: what
 * `collectPath(root, path)` finds, kept to strings, without the hits' other members.
 */
export function stringsAtPath(root: unknown, path: string): { value: string; location: string }[] {
  const hits: { value: string; location: string }[] = [];
  const segments = parse(path);
  const walk = (node: unknown, at: number, location: string): void => {
    if (at === segments.length) {
      if (typeof node === 'string') hits.push({ value: node, location });
      return;
    }
    if (!isRecord(node)) return;
    const { key, each } = segments[at]!;
    const child = node[key];
    const here = location ? `${location}.${key}` : key;
    if (!each) {
      walk(child, at + 1, here);
      return;
    }
    if (!Array.isArray(child)) return;
    for (let i = 0; i < child.length; i += 1) walk(child[i], at + 1, `${here}[${i}]`);
  };
  walk(root, 0, '');
  return hits;
}

/**
 * `root` with every string at `path` replaced by `map(value)`: a copy along the paths that change, the rest shared;
 * `root` itself when nothing changes.
 */
export function mapStringsAtPath<T>(root: T, path: string, map: (value: string) => string): T {
  const segments = parse(path);
  const walk = (node: unknown, at: number): unknown => {
    if (at === segments.length) return typeof node === 'string' ? map(node) : node;
    if (!isRecord(node)) return node;
    const { key, each } = segments[at]!;
    const child = node[key];
    let next: unknown;
    if (!each) next = walk(child, at + 1);
    else if (Array.isArray(child)) {
      const items = child.map((item) => walk(item, at + 1));
      next = items.some((item, i) => item !== child[i]) ? items : child;
    } else next = child;
    return next === child ? node : { ...node, [key]: next };
  };
  return walk(root, 0) as T;
}

/** Human-readable form of a location: `steps[0].actions[2].teamIds[1]`. */
export function formatLocation(location: Location): string {
  return location.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

/** Returns a copy of `root` with the value at `location` replaced (or removed when `value` is undefined). */
export function setAt(root: unknown, location: Location, value: unknown): unknown {
  const [head, ...rest] = location;
  if (head === undefined) return value;
  if (typeof head === 'number') {
    const items = Array.isArray(root) ? [...root] : [];
    items[head] = setAt(items[head], rest, value);
    return items;
  }
  const copy: Record<string, unknown> = isRecord(root) ? { ...root } : {};
  const next = setAt(copy[head], rest, value);
  if (next === undefined) delete copy[head];
  else copy[head] = next;
  return copy;
}
