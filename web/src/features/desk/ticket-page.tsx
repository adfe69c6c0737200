import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { useState } from 'react';
import { instanceQuery } from '../../api/queries';
import { Button } from '../../ui/button';
import { formatTime } from '../../ui/format';
import { ProblemNotice } from '../../ui/problem-notice';
import { addNote, choicesQuery, customerPickerQuery, nameOf, runAction, ticketActionsQuery, ticketQuery, type DeskChoices, type TicketAction } from './desk-queries';
import { DeskNav, inputClass, linkClass, Unread } from './desk-nav';

const route = getRouteApi('/app/desk/tickets/$ticketId');

/** One ticket: its fields, the workflow actions the agent may use, a note, and its history. */
export function TicketPage() {
  const { ticketId } = route.useParams();
  const { logged } = route.useSearch();
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const { data: choices } = useSuspenseQuery(choicesQuery);
  const ticket = useQuery(ticketQuery(ticketId));
  const history = useQuery(ticketActionsQuery(ticketId));
  const customers = useQuery({ ...customerPickerQuery, enabled: instance.you.permissions.includes('customers:read') });
  const queryClient = useQueryClient();
  const [note, setNote] = useState('');
  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: ['desk', 'ticket', ticketId] });
    await queryClient.invalidateQueries({ queryKey: ['desk', 'tickets'] });
  };
  const act = useMutation({
    mutationFn: (action: { kind: 'note' } | { kind: 'workflow-action'; id: string }) => (action.kind === 'note' ? addNote(ticketId, note) : runAction(ticketId, action.id, note)),
    onSuccess: async () => {
      setNote('');
      await refresh();
    },
    // A refusal may mean the ticket or the agent's access moved on: show the actions as they are now.
    onError: () => void refresh(),
  });
  const mayEdit = instance.you.permissions.includes('tickets:edit');
  if (!ticket.data) return <Unread error={ticket.error} />;
  const t = ticket.data;
  const fields: [string, string][] = [
    ['Customer', nameOf(customers.data ?? [], t.customerId)],
    ['Ticket type', nameOf(choices.ticketTypes, t.ticketTypeId)],
    ['Status', `${nameOf(choices.statuses, t.statusId)}${t.closed ? ' (closed)' : ''}`],
    ['Team', nameOf(choices.teams, t.teamId)],
    ['Agent', nameOf(choices.agents, t.agentId, 'Unassigned')],
    ['Priority', t.priority === null ? '—' : String(t.priority)],
    ['Logged', formatTime(t.createdAt)],
  ];
  return (
    <main className="mx-auto max-w-4xl space-y-4 p-4">
      <DeskNav />
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to="/desk/tickets" className={linkClass}>
          Tickets
        </Link>{' '}
        › #{t.number}
      </nav>
      <h1 className="text-xl font-semibold">
        #{t.number} {t.summary}
      </h1>
      {logged && (
        <p role="status" className="rounded border border-emerald-300 bg-emerald-50 px-3 py-2 text-sm text-emerald-950" data-testid="logged-note">
          Ticket logged.{' '}
          {logged === '-' ? 'No ticket rule matched.' : `Ticket rules that matched: ${logged.split('\n').join(', ')}.`}
        </p>
      )}
      <dl className="grid grid-cols-[10rem_1fr] gap-x-4 gap-y-1 text-sm" aria-label="Ticket">
        {fields.map(([label, value]) => (
          <div key={label} className="contents">
            <dt className="font-medium text-slate-700">{label}</dt>
            <dd data-testid={`ticket-${label.toLowerCase().replace(/ /g, '-')}`}>{value}</dd>
          </div>
        ))}
      </dl>
      {t.details && <p className="whitespace-pre-wrap rounded border border-slate-200 p-3 text-sm">{t.details}</p>}

      {mayEdit && (
        <section aria-labelledby="act-heading" className="space-y-2 rounded border border-slate-200 p-3">
          <h2 id="act-heading" className="font-semibold">
            Work on the ticket
          </h2>
          <label className="flex flex-col gap-1 text-sm">
            <span className="font-medium">Note</span>
            <textarea rows={3} className={inputClass} value={note} onChange={(e) => setNote(e.target.value)} />
          </label>
          <div className="flex flex-wrap gap-2" role="group" aria-label="Workflow actions">
            <Button look="primary" isDisabled={act.isPending || !note.trim()} onPress={() => act.mutate({ kind: 'note' })}>
              Add note
            </Button>
            {t.availableActions.map((a) => (
              <Button key={a.id} isDisabled={act.isPending} onPress={() => act.mutate({ kind: 'workflow-action', id: a.id })}>
                {a.name}
              </Button>
            ))}
          </div>
          {t.availableActions.length === 0 && (
            <p className="text-sm text-slate-700">{t.workflowId ? 'No action of this step is yours to use.' : 'This ticket’s type has no workflow.'}</p>
          )}
          <ProblemNotice error={act.error} write />
        </section>
      )}

      <section aria-labelledby="history-heading" className="space-y-2">
        <h2 id="history-heading" className="font-semibold">
          History
        </h2>
        <ProblemNotice error={history.error} />
        <ol className="space-y-2 text-sm" data-testid="ticket-history">
          {history.data?.map((a) => <HistoryEntry key={a.id} action={a} choices={choices} />)}
        </ol>
      </section>
    </main>
  );
}

function HistoryEntry({ action, choices }: { action: TicketAction; choices: DeskChoices }) {
  const details = action.details as { matchedRules?: { name: string }[]; toStatusId?: string; changed?: Record<string, { from: unknown; to: unknown }> };
  return (
    <li className="rounded border border-slate-200 p-2">
      <p>
        <strong>{action.name}</strong> · {action.actor.name} · {formatTime(action.at)}
      </p>
      {action.note && <p className="whitespace-pre-wrap">{action.note}</p>}
      {action.kind === 'created' && details.matchedRules && details.matchedRules.length > 0 && <p className="text-slate-700">Rules matched: {details.matchedRules.map((r) => r.name).join(', ')}</p>}
      {action.kind === 'workflow-action' && details.toStatusId && <p className="text-slate-700">Status: {nameOf(choices.statuses, details.toStatusId)}</p>}
      {action.kind === 'updated' && details.changed && <p className="text-slate-700">Changed: {Object.keys(details.changed).join(', ')}</p>}
    </li>
  );
}
