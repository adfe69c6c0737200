/** The change list's filters as they live in the URL: every column, the entity's name and a timeframe. */
export interface ChangeSearch {
  type?: string;
  entityId?: string;
  op?: 'create' | 'update' | 'delete';
  actor?: string;
  origin?: string;
  changeSet?: string;
  q?: string;
  from?: string;
  to?: string;
}

const textKeys = ['type', 'entityId', 'actor', 'origin', 'changeSet', 'q', 'from', 'to'] as const;
const ops = new Set(['create', 'update', 'delete']);

export function parseChangeSearch(search: Record<string, unknown>): ChangeSearch {
  const out: ChangeSearch = {};
  for (const key of textKeys) {
    const value = search[key];
    if (typeof value === 'string' && value.trim() !== '') out[key] = value.slice(0, 200);
  }
  if (typeof search.op === 'string' && ops.has(search.op)) out.op = search.op as ChangeSearch['op'];
  return out;
}
