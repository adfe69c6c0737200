/** The audit log's filters as they live in the URL. */
export interface AuditSearch {
  kind?: string;
  outcome?: 'success' | 'failure' | 'denied';
  actorId?: string;
  from?: string;
  to?: string;
  cursor?: string;
}

const textKeys = ['kind', 'actorId', 'from', 'to', 'cursor'] as const;
const outcomes = new Set(['success', 'failure', 'denied']);

export function parseAuditSearch(search: Record<string, unknown>): AuditSearch {
  const out: AuditSearch = {};
  for (const key of textKeys) {
    const value = search[key];
    if (typeof value === 'string' && value.trim() !== '') out[key] = value.slice(0, 200);
  }
  if (typeof search.outcome === 'string' && outcomes.has(search.outcome)) out.outcome = search.outcome as AuditSearch['outcome'];
  return out;
}
