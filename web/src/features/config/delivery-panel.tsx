import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';
import { unwrap } from '../../api/problem';
import { Button } from '../../ui/button';
import { formatTime } from '../../ui/format';
import { ProblemNotice } from '../../ui/problem-notice';

const deliveriesKey = (id: string) => ['deliveries', id];

/** A webhook's or notification's test delivery button and its delivery log (never a payload or a secret). */
export function DeliveryPanel({ type, id, canEdit }: { type: 'webhooks' | 'notifications'; id: string; canEdit: boolean }) {
  const queryClient = useQueryClient();
  const log = useQuery({
    queryKey: deliveriesKey(id),
    queryFn: async ({ signal }) => unwrap(await api.GET('/v1/webhooks/deliveries', { params: { query: { webhookId: id, limit: 20 } }, signal })).items,
    // While something is on its way, the log is read again until it has an answer.
    refetchInterval: (query) => (query.state.data?.some((d) => d.status === 'pending' || d.status === 'sending') ? 1000 : false),
  });
  const test = useMutation({
    mutationFn: async () => unwrap(await api.POST('/v1/config/{type}/{id}/test-delivery', { params: { path: { type, id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: deliveriesKey(id) }),
  });
  const singular = type === 'webhooks' ? 'webhook' : 'notification';
  return (
    <section aria-labelledby="delivery-log" className="space-y-3 border-t border-slate-200 pt-4">
      <div className="flex flex-wrap items-center gap-3">
        <h2 id="delivery-log" className="text-base font-semibold">
          Delivery log
        </h2>
        {canEdit && (
          <Button className="ml-auto" isDisabled={test.isPending} onPress={() => test.mutate()}>
            {test.isPending ? 'Sending…' : 'Send a test delivery'}
          </Button>
        )}
      </div>
      <p className="text-sm text-slate-700">
        A test delivery sends this {singular}, as saved, once now with the event <code>test</code> and a sample ticket; its answer appears here. Payloads and secrets are never logged.
      </p>
      {test.isSuccess && (
        <p role="status" className="text-sm text-emerald-900">
          Test delivery queued.
        </p>
      )}
      <ProblemNotice error={test.error} />
      <ProblemNotice error={log.error} />
      {log.data && log.data.length === 0 && <p className="text-sm text-slate-600">Nothing sent yet.</p>}
      {log.data && log.data.length > 0 && (
        <table className="w-full text-left text-sm" data-testid="delivery-rows">
          <thead className="border-b border-slate-300">
            <tr>
              <th className="py-1 font-semibold">When</th>
              <th className="py-1 font-semibold">Event</th>
              <th className="py-1 font-semibold">Status</th>
              <th className="py-1 font-semibold">Attempts</th>
              <th className="py-1 font-semibold">Answer</th>
            </tr>
          </thead>
          <tbody>
            {log.data.map((d) => (
              <tr key={d.id} className="border-b border-slate-100" data-delivery={d.status}>
                <td className="py-1.5">{formatTime(d.createdAt)}</td>
                <td className="py-1.5">{d.event}</td>
                <td className="py-1.5 font-medium">{d.status}</td>
                <td className="py-1.5">
                  {d.attempts} of {d.maxAttempts}
                </td>
                <td className="py-1.5">{d.lastError ?? (d.responseStatus !== null ? `HTTP ${d.responseStatus}` : '—')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
