import { useQuery } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { formatTime } from '../../ui/format';
import { ProblemNotice } from '../../ui/problem-notice';
import { PolicyView } from './policy-view';
import { age, promotionRequestsQuery, requestStatuses, statusLooks, type RequestStatus } from './promotion-queries';

const route = getRouteApi('/app/requests');

export function StatusBadge({ status }: { status: RequestStatus }) {
  return (
    <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${statusLooks[status]}`} data-status={status}>
      {status}
    </span>
  );
}

/** A table's column headings. */
export function ColumnHeads({ names, className }: { names: string[]; className: string }) {
  return (
    <thead className={className}>
      <tr>
        {names.map((name) => (
          <th key={name} scope="col" className="px-2 py-1">
            {name}
          </th>
        ))}
      </tr>
    </thead>
  );
}

const filterLink = 'rounded border border-slate-300 px-2 py-0.5 text-sm hover:bg-slate-100';

/** The promotion requests held here, newest first, filtered by status (in the URL), and this instance's policy. */
export function RequestsPage() {
  const { status } = route.useSearch();
  const statuses = status ? status.split(',') : [];
  const requests = useQuery(promotionRequestsQuery(statuses));
  return (
    <main className="mx-auto max-w-7xl space-y-4 px-4 py-4">
      <h1 className="text-xl font-semibold">Promotion requests</h1>
      <p className="text-sm text-slate-700">Pushes, pulls and imports into this instance held until enough agents approve them.</p>
      <nav aria-label="Filter by status" className="flex flex-wrap items-center gap-1.5">
        <span className="text-sm text-slate-700">Status:</span>
        <Link to="/requests" search={{}} className={`${filterLink} ${statuses.length === 0 ? 'bg-slate-200 font-semibold' : ''}`} aria-current={statuses.length === 0 ? 'page' : undefined}>
          all
        </Link>
        {requestStatuses.map((s) => (
          <Link key={s} to="/requests" search={{ status: s }} className={`${filterLink} ${statuses.length === 1 && statuses[0] === s ? 'bg-slate-200 font-semibold' : ''}`} aria-current={statuses.length === 1 && statuses[0] === s ? 'page' : undefined}>
            {s}
          </Link>
        ))}
      </nav>
      {requests.isPending && <p className="text-sm text-slate-600">Loading the requests…</p>}
      {requests.isError && <ProblemNotice error={requests.error} />}
      {requests.data &&
        (requests.data.items.length === 0 ? (
          <p className="text-sm text-slate-600" data-testid="no-requests">
            No promotion request{statuses.length > 0 ? ` is ${statuses.join(' or ')}` : ' yet'}.
          </p>
        ) : (
          <table className="w-full border-collapse text-left text-sm" data-testid="requests">
            <ColumnHeads className="bg-slate-100" names={['Request', 'Status', 'Asked by', 'From', 'Changes', 'Approvals', 'Age']} />
            <tbody>
              {requests.data.items.map((r) => (
                <tr key={r.id} className="border-t border-slate-200 align-top" data-request={r.id}>
                  <td className="px-2 py-1">
                    <Link to="/requests/$id" params={{ id: r.id }} className="font-medium text-blue-800 underline">
                      {r.description || `${r.operation} from ${r.from.name}`}
                    </Link>
                    <span className="block font-mono text-xs text-slate-600">{r.id}</span>
                  </td>
                  <td className="px-2 py-1">
                    <StatusBadge status={r.status} />
                  </td>
                  <td className="px-2 py-1">{r.requester.name}</td>
                  <td className="px-2 py-1">
                    {r.operation} from {r.from.name}
                  </td>
                  <td className="px-2 py-1 tabular-nums">
                    {r.changes} on {r.entities} {r.entities === 1 ? 'entity' : 'entities'}
                  </td>
                  <td className="px-2 py-1 tabular-nums">
                    {r.approvals} of {r.approvalsRequired}
                  </td>
                  <td className="px-2 py-1 tabular-nums">
                    <time dateTime={r.createdAt} title={formatTime(r.createdAt)}>
                      {age(r.createdAt)}
                    </time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
      <PolicyView />
    </main>
  );
}
