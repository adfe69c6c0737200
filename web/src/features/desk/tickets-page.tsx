import { useInfiniteQuery, useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { useCallback, useState } from 'react';
import { instanceQuery } from '../../api/queries';
import { Button } from '../../ui/button';
import { formatTime } from '../../ui/format';
import { ProblemNotice } from '../../ui/problem-notice';
import { choicesQuery, customerPickerQuery, nameOf, saveTicketList, savedListsQuery, ticketsQuery, viewListsQuery, type TicketSource } from './desk-queries';
import { DeskForm, DeskNav, DeskTable, inputClass, linkClass, SearchBox, ShowMore } from './desk-nav';
import type { TicketSearch } from './ticket-search';

const route = getRouteApi('/app/desk/tickets');

function sourceOf(search: TicketSearch): TicketSource {
  if (search.list?.startsWith('saved:')) return { kind: 'saved', id: search.list.slice(6) };
  if (search.list?.startsWith('view:')) return { kind: 'view', id: search.list.slice(5) };
  return { kind: 'all', ...(search.q ? { q: search.q } : {}) };
}

/** The tickets the signed-in agent sees: every one (searched by text), or one of its saved and view lists. */
export function TicketsPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const { data: choices } = useSuspenseQuery(choicesQuery);
  const customers = useQuery({ ...customerPickerQuery, enabled: instance.you.permissions.includes('customers:read') });
  const saved = useQuery(savedListsQuery);
  const views = useQuery(viewListsQuery);
  const source = sourceOf(search);
  const tickets = useInfiniteQuery(ticketsQuery(source));
  const apply = useCallback((q: string | undefined) => void navigate({ search: q ? { q } : {}, replace: true }), [navigate]);
  const rows = tickets.data?.pages.flatMap((p) => p.items) ?? [];
  const listName =
    source.kind === 'saved' ? saved.data?.find((l) => l.id === source.id)?.name : source.kind === 'view' ? views.data?.find((l) => l.id === source.id)?.name : undefined;
  const listLink = (list: string, name: string) => (
    <li key={list}>
      <Link to="/desk/tickets" search={{ list }} className={`${linkClass} ${search.list === list ? 'font-semibold' : ''}`} aria-current={search.list === list ? 'page' : undefined}>
        {name}
      </Link>
    </li>
  );
  return (
    <main className="mx-auto max-w-7xl space-y-4 p-4">
      <DeskNav />
      <div className="flex flex-wrap items-center gap-4">
        <h1 className="text-xl font-semibold">{listName ? `Tickets: ${listName}` : 'Tickets'}</h1>
        {choices.you.mayLogTickets && (
          <Link to="/desk/tickets/new" className="ml-auto rounded bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800">
            Log a ticket
          </Link>
        )}
      </div>
      <div className="flex gap-6">
        <aside className="w-56 shrink-0 space-y-4 text-sm" aria-label="Ticket lists">
          <section aria-labelledby="all-tickets">
            <h2 id="all-tickets" className="font-semibold">
              Search
            </h2>
            <ul>
              <li>
                <Link to="/desk/tickets" search={{}} className={`${linkClass} ${!search.list && !search.q ? 'font-semibold' : ''}`}>
                  Every ticket you see
                </Link>
              </li>
            </ul>
          </section>
          <section aria-labelledby="view-lists">
            <h2 id="view-lists" className="font-semibold">
              View lists
            </h2>
            {views.data?.length === 0 && <p className="text-slate-700">None for your teams.</p>}
            <ul>{views.data?.map((l) => listLink(`view:${l.id}`, l.name))}</ul>
          </section>
          <section aria-labelledby="saved-lists">
            <h2 id="saved-lists" className="font-semibold">
              Saved lists
            </h2>
            {saved.data?.length === 0 && <p className="text-slate-700">None yet.</p>}
            <ul>{saved.data?.map((l) => listLink(`saved:${l.id}`, `${l.name}${l.shared ? ' (shared)' : ''}`))}</ul>
          </section>
        </aside>
        <div className="min-w-0 flex-1 space-y-3">
          {!search.list && (
            <div className="flex flex-wrap items-end gap-3">
              <SearchBox label="Search by text in the summary" applied={search.q} apply={apply} />
              {choices.you.mayFilter ? (
                instance.you.permissions.includes('tickets:edit') && <SaveListForm q={search.q ?? ''} />
              ) : (
                <p className="text-sm text-slate-700" data-testid="co-managed-search-note">
                  Co-managed agents search by text only and run the lists shared with them.
                </p>
              )}
            </div>
          )}
          <ProblemNotice error={tickets.error ?? saved.error ?? views.error} />
          <DeskTable headings={['#', 'Summary', 'Customer', 'Type', 'Status', 'Team', 'Agent', 'Logged']} testId="ticket-rows">
              {rows.map((t) => (
                <tr key={t.id} className="border-b border-slate-100" data-ticket-id={t.id}>
                  <td className="py-1.5">{t.number}</td>
                  <td className="py-1.5">
                    <Link to="/desk/tickets/$ticketId" params={{ ticketId: t.id }} className={linkClass}>
                      {t.summary}
                    </Link>
                  </td>
                  <td className="py-1.5">{nameOf(customers.data ?? [], t.customerId)}</td>
                  <td className="py-1.5">{nameOf(choices.ticketTypes, t.ticketTypeId)}</td>
                  <td className="py-1.5">{nameOf(choices.statuses, t.statusId)}</td>
                  <td className="py-1.5">{nameOf(choices.teams, t.teamId)}</td>
                  <td className="py-1.5">{nameOf(choices.agents, t.agentId)}</td>
                  <td className="py-1.5 text-slate-700">{formatTime(t.createdAt)}</td>
                </tr>
              ))}
            </DeskTable>
          {tickets.isSuccess && rows.length === 0 && <p className="text-sm">{search.q ? `No ticket you see mentions “${search.q}”.` : 'No ticket here.'}</p>}
          <ShowMore list={tickets} />
        </div>
      </div>
    </main>
  );
}

/** Saves the current text search as a list of one's own, or shared with every agent. */
function SaveListForm({ q }: { q: string }) {
  const queryClient = useQueryClient();
  const navigate = route.useNavigate();
  const [name, setName] = useState('');
  const [shared, setShared] = useState(false);
  const save = useMutation({
    mutationFn: () => saveTicketList(name.trim(), q, shared),
    onSuccess: async (list) => {
      setName('');
      await queryClient.invalidateQueries({ queryKey: ['desk', 'saved-lists'] });
      await navigate({ search: { list: `saved:${list.id}` } });
    },
  });
  return (
    <DeskForm label="Save this search as a list" className="flex flex-wrap items-end gap-2 text-sm" onSubmit={() => save.mutate()}>
      <label className="flex flex-col gap-1">
        <span className="font-medium">List name</span>
        <input className={inputClass} value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label className="flex items-center gap-1 pb-1">
        <input type="checkbox" checked={shared} onChange={(e) => setShared(e.target.checked)} /> Shared with every agent
      </label>
      <Button type="submit" isDisabled={save.isPending || !name.trim()}>
        Save as a list
      </Button>
      <div className="basis-full">
        <ProblemNotice error={save.error} write />
      </div>
    </DeskForm>
  );
}
