import { useQuery } from '@tanstack/react-query';
import { formatTime } from '../../ui/format';
import { ProblemNotice } from '../../ui/problem-notice';
import { promotionPolicyQuery } from './promotion-queries';

/** This instance's promotion policy, read-only: administrators change it through the API or the command line. */
export function PolicyView() {
  const policy = useQuery(promotionPolicyQuery);
  return (
    <section aria-labelledby="policy-heading" className="rounded border border-slate-200 bg-white p-3">
      <h2 id="policy-heading" className="mb-2 text-lg font-semibold">
        This instance's promotion policy
      </h2>
      {policy.isPending && <p className="text-sm text-slate-600">Loading the policy…</p>}
      {policy.isError && <ProblemNotice error={policy.error} />}
      {policy.data && (
        <dl className="grid grid-cols-[16rem_1fr] gap-x-3 gap-y-1 text-sm" data-testid="promotion-policy">
          <dt className="text-slate-700">Approvals required</dt>
          <dd>{policy.data.approvalsRequired === 0 ? 'none — pushes, pulls and imports apply at once' : policy.data.approvalsRequired}</dd>
          <dt className="text-slate-700">Requester may approve their own</dt>
          <dd>{policy.data.allowSelfApproval ? 'yes' : 'no'}</dd>
          <dt className="text-slate-700">Last approver may apply</dt>
          <dd>{policy.data.lastApproverMayApply ? 'yes' : 'no'}</dd>
          <dt className="text-slate-700">Deploy windows ({policy.data.timeZone})</dt>
          <dd>
            {policy.data.windows.length === 0
              ? 'any time'
              : policy.data.windows.map((w) => (
                  <span key={`${w.days.join()}:${w.from}`} className="block">
                    {w.days.join(', ')} {w.from}–{w.to}
                  </span>
                ))}
          </dd>
          <dt className="text-slate-700">Freezes</dt>
          <dd>
            {policy.data.freezes.length === 0
              ? 'none'
              : policy.data.freezes.map((f) => (
                  <span key={f.from} className="block">
                    {formatTime(f.from)} – {formatTime(f.to)}: {f.reason}
                  </span>
                ))}
          </dd>
          <dt className="text-slate-700">Emergency bypass</dt>
          <dd>{policy.data.emergencyBypass ? 'allowed, with a reason, for agents who may bypass windows' : 'off'}</dd>
        </dl>
      )}
    </section>
  );
}
