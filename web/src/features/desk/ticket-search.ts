/** The ticket list's address: text searched, or the saved or view list shown (`saved:ID`, `view:ID`). */
export interface TicketSearch {
  q?: string;
  list?: string;
}

export function parseTicketSearch(search: Record<string, unknown>): TicketSearch {
  return {
    ...(typeof search.q === 'string' && search.q.trim() ? { q: search.q.slice(0, 200) } : {}),
    ...(typeof search.list === 'string' && /^(saved|view):[\w-]{1,100}$/.test(search.list) ? { list: search.list } : {}),
  };
}
