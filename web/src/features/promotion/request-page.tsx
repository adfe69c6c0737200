import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { useState } from 'react';
import { Label, TextArea, TextField, Input } from 'react-aria-components';
import { Button } from '../../ui/button';
import { formatTime, operationLabels } from '../../ui/format';
import { ProblemNotice } from '../../ui/problem-notice';
import { useCan } from '../access/can';
import { FieldDiff } from '../changes/field-diff';
import { actOn, promotionDiffsQuery, promotionRequestQuery, type PromotionRequest, type RequestAction } from './promotion-queries';
import { ColumnHeads, StatusBadge } from './requests-page';

const route = getRouteApi('/app/requests/$id');

const open = new Set(['pending', 'approved', 'scheduled', 'suspended', 'stale', 'rejected']);
const field = 'mt-1 w-full rounded border border-slate-400 px-2 py-1 text-sm';

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <dt className="text-xs font-medium tracking-wide text-slate-600 uppercase">{label}</dt>
      <dd className="text-sm break-words">{children}</dd>
    </div>
  );
}

const pastTense: Record<RequestAction['kind'], string> = { approve: 'Approved', reject: 'Rejected', apply: 'Applied', schedule: 'Scheduled', cancel: 'Cancelled', replan: 'Re-planned' };

const who = (p: { name: string; email: string | null }) => (p.email ? `${p.name} <${p.email}>` : p.name);

/** What the signed-in agent may do to the request as it now is; the server refuses the rest anyway. */
function Actions({ request }: { request: PromotionRequest }) {
  const can = useCan();
  const queryClient = useQueryClient();
  const [comment, setComment] = useState('');
  const [at, setAt] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const act = useMutation({
    mutationFn: (action: RequestAction) => actOn(request.id, action),
    onSuccess: (answer, action) => {
      queryClient.setQueryData(promotionRequestQuery(request.id).queryKey, answer);
      void queryClient.invalidateQueries({ queryKey: ['promotion-requests', 'list'] });
      setDone(`${pastTense[action.kind]}: the request is now ${answer.status}.`);
      setComment('');
    },
    onError: () => {
      setDone(null);
      // A stale or failed apply changed the request: show it as it now is beside the problem.
      void queryClient.invalidateQueries({ queryKey: ['promotion-requests'] });
    },
  });
  const approver = can('promotions:approve');
  const pusher = can('config:push');
  const s = request.status;
  const mayReview = approver && (s === 'pending' || s === 'approved');
  const mayApply = approver && (s === 'approved' || s === 'scheduled');
  const mayReplan = pusher && open.has(s);
  const mayCancel = (pusher || approver) && open.has(s);
  const busy = act.isPending;
  const outcome = (
    <>
      {act.isError && <ProblemNotice error={act.error} />}
      {done && (
        <p role="status" className="rounded bg-green-50 p-2 text-sm text-green-950">
          {done}
        </p>
      )}
    </>
  );
  // Nothing left to decide (applied, cancelled, or no right to): what was just done, if anything, stays said.
  if (!mayReview && !mayApply && !mayReplan && !mayCancel) return outcome;
  return (
    <section aria-labelledby="actions-heading" className="space-y-3 rounded border border-slate-200 bg-white p-3">
      <h2 id="actions-heading" className="text-lg font-semibold">
        Decide
      </h2>
      {mayReview && (
        <div className="space-y-2">
          <TextField value={comment} onChange={setComment} className="block max-w-2xl">
            <Label className="text-sm font-medium">Comment</Label>
            <TextArea className={field} rows={2} />
          </TextField>
          <div className="flex gap-2">
            <Button look="primary" isDisabled={busy} onPress={() => act.mutate({ kind: 'approve', comment })}>
              Approve
            </Button>
            <Button look="danger" isDisabled={busy} onPress={() => act.mutate({ kind: 'reject', comment })}>
              Reject
            </Button>
          </div>
        </div>
      )}
      <div className="flex flex-wrap items-end gap-2">
        {mayApply && (
          <Button look="primary" isDisabled={busy} onPress={() => act.mutate({ kind: 'apply' })}>
            Apply now
          </Button>
        )}
        {mayApply && (
          <>
            <TextField value={at} onChange={setAt} className="block">
              <Label className="text-sm font-medium">Apply at (your time)</Label>
              <Input type="datetime-local" className={field} />
            </TextField>
            <Button isDisabled={busy || !at} onPress={() => act.mutate({ kind: 'schedule', at: new Date(at).toISOString() })}>
              Schedule
            </Button>
            {s === 'scheduled' && (
              <Button isDisabled={busy} onPress={() => act.mutate({ kind: 'schedule', at: null })}>
                Unschedule
              </Button>
            )}
          </>
        )}
        {mayReplan && (
          <Button isDisabled={busy} onPress={() => act.mutate({ kind: 'replan' })}>
            Re-plan
          </Button>
        )}
        {mayCancel && (
          <Button isDisabled={busy} onPress={() => act.mutate({ kind: 'cancel', reason: comment })}>
            Cancel the request
          </Button>
        )}
      </div>
      {outcome}
    </section>
  );
}

/** Each entity the request writes, before its first change and after its last, side by side. */
function Diffs({ id, revision }: { id: string; revision: number }) {
  const diffs = useQuery(promotionDiffsQuery(id, revision));
  if (diffs.isPending) return <p className="text-sm text-slate-600">Loading the differences…</p>;
  if (diffs.isError) return <ProblemNotice error={diffs.error} />;
  return (
    <div className="space-y-4" data-testid="request-diffs">
      {diffs.data.map((d) => (
        <FieldDiff key={d.entityId} change={d} title={`${d.name || d.entityId} (${d.type}): before and after`} />
      ))}
    </div>
  );
}

/** A promotion request: who asked and why, its plan, its verdicts (revoked ones as such), its timeline and what may be done. */
export function RequestPage() {
  const { id } = route.useParams();
  const request = useQuery(promotionRequestQuery(id));
  if (request.isPending) return <p className="p-6 text-sm text-slate-600">Loading the request…</p>;
  if (request.isError)
    return (
      <main className="mx-auto max-w-3xl p-6">
        <ProblemNotice error={request.error} />
        <Link to="/requests" className="mt-3 inline-block text-blue-800 underline">
          Back to the requests
        </Link>
      </main>
    );
  const r = request.data;
  const changesById = new Map(r.plan.changes.map((c) => [c.id, c]));
  return (
    <main className="mx-auto max-w-7xl space-y-5 px-4 py-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to="/requests" className="text-blue-800 underline">
          Requests
        </Link>{' '}
        / <span className="font-mono">{r.id}</span>
      </nav>
      <h1 className="flex flex-wrap items-center gap-2 text-xl font-semibold">
        {r.description || `${r.operation} from ${r.from.name}`} <StatusBadge status={r.status} />
      </h1>
      {r.reason && (
        <p role="status" className="rounded border border-amber-300 bg-amber-50 p-2 text-sm text-amber-950" data-testid="request-reason">
          <strong>Why it is {r.status}:</strong> {r.reason}
        </p>
      )}
      <dl className="grid grid-cols-2 gap-3 rounded border border-slate-200 bg-white p-3 md:grid-cols-4">
        <Fact label="Asked by">{who(r.requester)}</Fact>
        <Fact label="What">
          {r.operation} from {r.from.name}
        </Fact>
        <Fact label="Approvals">
          {r.approvals} of {r.approvalsRequired}
        </Fact>
        <Fact label="Asked">{formatTime(r.createdAt)}</Fact>
        <Fact label="Plan">
          revision {r.revision} · <code className="text-xs break-all">{r.planDigest.slice(0, 16)}…</code>
        </Fact>
        <Fact label="Scheduled">{r.scheduledAt ? formatTime(r.scheduledAt) : 'no'}</Fact>
        <Fact label="Applied">{r.appliedAt ? formatTime(r.appliedAt) : 'not yet'}</Fact>
        {r.bypass && (
          <Fact label="Emergency bypass">
            by {r.bypass.by.name}, {formatTime(r.bypass.at)}: {r.bypass.reason}
          </Fact>
        )}
      </dl>
      <Actions request={r} />
      <section aria-labelledby="plan-heading">
        <h2 id="plan-heading" className="mb-2 text-lg font-semibold">
          The plan: {r.plan.counts.toApply} to apply on {r.plan.counts.entities} {r.plan.counts.entities === 1 ? 'entity' : 'entities'}
        </h2>
        {r.plan.problems.length > 0 && (
          <ul className="mb-2 space-y-1" data-testid="request-problems">
            {r.plan.problems.map((p) => (
              <li key={`${p.kind}:${p.message}`} className="rounded border border-red-300 bg-red-50 p-2 text-sm text-red-950">
                <strong>{p.kind}</strong>: {p.message}
              </li>
            ))}
          </ul>
        )}
        <div className="space-y-3" data-testid="request-entities">
          {r.plan.entities.map((e) => (
            <section key={e.id} aria-label={`${e.type} ${e.name || e.id}`} className="rounded border border-slate-200 bg-white p-2">
              <h3 className="text-sm font-semibold">
                {e.name || e.id} <span className="font-normal text-slate-600">({e.type})</span>
              </h3>
              <table className="mt-1 w-full text-left text-xs">
                <ColumnHeads className="bg-slate-100" names={['Operation', 'Made', 'Change set', 'Action here', 'Change']} />
                <tbody>
                  {e.changes.map((changeId) => {
                    const c = changesById.get(changeId);
                    return (
                      <tr key={changeId} className="border-t border-slate-100">
                        <td className="px-2 py-1">{c ? (operationLabels[c.op] ?? c.op) : '—'}</td>
                        <td className="px-2 py-1">{c ? `${formatTime(new Date(c.at).toISOString())} by ${c.actor.name}` : '—'}</td>
                        <td className="px-2 py-1">{c?.changeSet ?? '—'}</td>
                        <td className="px-2 py-1">{c?.action ?? '—'}</td>
                        <td className="px-2 py-1 font-mono">{changeId}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </section>
          ))}
        </div>
      </section>
      <Diffs id={r.id} revision={r.revision} />
      <section aria-labelledby="reviews-heading">
        <h2 id="reviews-heading" className="mb-2 text-lg font-semibold">
          Approvals and rejections
        </h2>
        {r.reviews.length === 0 ? (
          <p className="text-sm text-slate-600">Nobody has approved or rejected this request yet.</p>
        ) : (
          <ul className="space-y-1" data-testid="request-reviews">
            {r.reviews.map((v) => (
              <li key={`${v.by.agentId ?? v.by.name}:${v.at}`} className={`rounded border p-2 text-sm ${v.revoked ? 'border-slate-200 bg-slate-50 text-slate-700' : 'border-slate-300 bg-white'}`} data-verdict={v.verdict} data-revoked={v.revoked}>
                <strong>{v.by.name}</strong> {v.verdict === 'approve' ? 'approved' : 'rejected'} · {formatTime(v.at)}
                {v.revoked && <> · <strong>revoked</strong>{v.revokedAt ? ` ${formatTime(v.revokedAt)}` : ''}: the plan changed after it</>}
                {!v.revoked && v.verdict === 'approve' && (v.counts ? ' · counts' : ' · does not count')}
                {v.comment && <p className="mt-0.5 italic">“{v.comment}”</p>}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="timeline-heading">
        <h2 id="timeline-heading" className="mb-2 text-lg font-semibold">
          Timeline
        </h2>
        <ol className="space-y-1 border-l-2 border-slate-300 pl-3 text-sm" data-testid="request-timeline">
          {r.timeline.map((t) => (
            <li key={`${t.at}:${t.kind}`} data-kind={t.kind}>
              <time dateTime={t.at} className="text-slate-600 tabular-nums">
                {formatTime(t.at)}
              </time>{' '}
              <strong>{t.kind}</strong>
              {t.by ? ` by ${t.by.name}` : ''}: {t.message}
            </li>
          ))}
        </ol>
      </section>
    </main>
  );
}
