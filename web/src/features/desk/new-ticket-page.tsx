import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { Button } from '../../ui/button';
import { ProblemNotice } from '../../ui/problem-notice';
import { choicesQuery, customerPickerQuery, logTicket, usersQuery, type TicketInput } from './desk-queries';
import { DeskField, DeskForm, DeskNav, inputClass, linkClass, Picker, TextField } from './desk-nav';

/** Logs a ticket: a customer the agent sees, one of its users, a ticket type the agent may log, and what happened. */
export function NewTicketPage() {
  const { data: choices } = useSuspenseQuery(choicesQuery);
  const customers = useQuery(customerPickerQuery);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const loggable = choices.ticketTypes.filter((t) => t.mayLog);
  const [draft, setDraft] = useState({ customerId: '', userId: '', ticketTypeId: loggable.length === 1 ? loggable[0]!.id : '', summary: '', details: '', priority: '' });
  const users = useQuery({ ...usersQuery(draft.customerId), enabled: Boolean(draft.customerId) });
  const set = (key: keyof typeof draft) => (value: string) => setDraft((d) => ({ ...d, [key]: value, ...(key === 'customerId' ? { userId: '' } : {}) }));
  const log = useMutation({
    mutationFn: () => {
      const body: TicketInput = {
        customerId: draft.customerId,
        ticketTypeId: draft.ticketTypeId,
        summary: draft.summary,
        details: draft.details,
        userId: draft.userId || null,
        priority: draft.priority ? Number(draft.priority) : null,
      };
      return logTicket(body);
    },
    onSuccess: async (created) => {
      await queryClient.invalidateQueries({ queryKey: ['desk', 'tickets'] });
      await navigate({ to: '/desk/tickets/$ticketId', params: { ticketId: created.ticket.id }, search: { logged: created.matchedRules.map((r) => r.name).join('\n') || '-' } });
    },
  });
  return (
    <main className="mx-auto max-w-3xl space-y-4 p-4">
      <DeskNav />
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to="/desk/tickets" className={linkClass}>
          Tickets
        </Link>{' '}
        › Log a ticket
      </nav>
      <h1 className="text-xl font-semibold">Log a ticket</h1>
      <p className="text-sm text-slate-700">The ticket type gives the team, workflow and status; then the ticket rules for new tickets run, in order.</p>
      <DeskForm label="Log a ticket" className="space-y-3" onSubmit={() => log.mutate()}>
        <Picker label="Customer" path="customerId" error={log.error} value={draft.customerId} onChange={set('customerId')} none="Choose a customer…" items={customers.data ?? []} />
        <Picker
          label="User"
          path="userId"
          error={log.error}
          value={draft.userId}
          onChange={set('userId')}
          none={draft.customerId ? 'No user' : 'Choose a customer first'}
          items={(users.data ?? []).map((u) => ({ id: u.id, name: u.email ? `${u.name} <${u.email}>` : u.name }))}
        />
        <Picker label="Ticket type" path="ticketTypeId" error={log.error} value={draft.ticketTypeId} onChange={set('ticketTypeId')} none="Choose a ticket type…" items={loggable} />
        <TextField label="Summary" path="summary" error={log.error} value={draft.summary} onChange={set('summary')} />
        <DeskField label="Details" path="details" error={log.error}>
          {(props) => <textarea {...props} rows={4} className={inputClass} value={draft.details} onChange={(e) => set('details')(e.target.value)} />}
        </DeskField>
        <DeskField label="Priority (1–10, optional)" path="priority" error={log.error}>
          {(props) => <input {...props} type="number" min={1} max={10} className={`${inputClass} w-24`} value={draft.priority} onChange={(e) => set('priority')(e.target.value)} />}
        </DeskField>
        <ProblemNotice error={log.error} write />
        <Button type="submit" look="primary" isDisabled={log.isPending}>
          {log.isPending ? 'Logging…' : 'Log the ticket'}
        </Button>
      </DeskForm>
    </main>
  );
}
