import { useQuery } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { useCallback } from 'react';
import { ProblemNotice } from '../../ui/problem-notice';
import { agentsQuery, applicationsQuery } from './access-queries';
import { AccessNav, cell, headCell, linkButton, SearchBox, useSearchText } from './access-nav';

const route = getRouteApi('/app/access/applications');

/** API applications by name: the agent each logs in as and its permissions, never a secret. */
export function ApplicationsPage() {
  const { q } = route.useSearch();
  const navigate = route.useNavigate();
  const apply = useCallback((next: string | undefined) => void navigate({ search: next ? { q: next } : {}, replace: true }), [navigate]);
  const [text, setText, now] = useSearchText(q, apply);
  const list = useQuery(applicationsQuery(q));
  const agents = useQuery(agentsQuery(undefined));
  const agentName = (id: string) => agents.data?.items.find((a) => a.id === id)?.name ?? id;
  const rows = list.data?.items ?? [];
  return (
    <main className="mx-auto max-w-6xl space-y-4 p-4">
      <AccessNav />
      <div className="flex items-center gap-4">
        <h1 className="text-xl font-semibold">API applications</h1>
        <Link to="/access/applications/new" className={`ml-auto ${linkButton}`}>
          New application
        </Link>
      </div>
      <SearchBox label="Search by name" text={text} setText={setText} now={now} />
      <ProblemNotice error={list.error} />
      <table className="w-full text-left text-sm">
        <thead className="border-b border-slate-300">
          <tr>
            <th className={headCell}>Name</th>
            <th className={headCell}>Client ID</th>
            <th className={headCell}>Logs in as</th>
            <th className={headCell}>Permissions</th>
            <th className={headCell}>State</th>
          </tr>
        </thead>
        <tbody data-testid="application-rows">
          {rows.map((app) => (
            <tr key={app.id} className="border-b border-slate-100">
              <td className={cell}>
                <Link to="/access/applications/$id" params={{ id: app.id }} className="text-blue-800 underline-offset-2 hover:underline">
                  {app.name}
                </Link>
              </td>
              <td className={cell}>
                <code>{app.clientId}</code>
              </td>
              <td className={cell}>{agentName(app.agentId)}</td>
              <td className={cell}>{app.permissions.join(', ') || 'none'}</td>
              <td className={cell}>{app.enabled ? 'Enabled' : 'Disabled'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.isSuccess && rows.length === 0 && <p className="text-sm">{q ? `No application matches “${q}”.` : 'No API applications yet.'}</p>}
    </main>
  );
}
