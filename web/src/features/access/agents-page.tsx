import { useQuery } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { useCallback } from 'react';
import { ProblemNotice } from '../../ui/problem-notice';
import { agentsQuery } from './access-queries';
import { AccessNav, cell, headCell, linkButton, SearchBox, useSearchText } from './access-nav';

const route = getRouteApi('/app/access/agents');

/** Agents by name, with search: roles, API-only, co-managed and disabled at a glance. */
export function AgentsPage() {
  const { q } = route.useSearch();
  const navigate = route.useNavigate();
  const apply = useCallback((next: string | undefined) => void navigate({ search: next ? { q: next } : {}, replace: true }), [navigate]);
  const [text, setText, now] = useSearchText(q, apply);
  const list = useQuery(agentsQuery(q));
  const rows = list.data?.items ?? [];
  return (
    <main className="mx-auto max-w-6xl space-y-4 p-4">
      <AccessNav />
      <div className="flex items-center gap-4">
        <h1 className="text-xl font-semibold">Agents</h1>
        <Link to="/access/agents/new" className={`ml-auto ${linkButton}`}>
          New agent
        </Link>
      </div>
      <SearchBox label="Search by name or email" text={text} setText={setText} now={now} />
      <ProblemNotice error={list.error} />
      <table className="w-full text-left text-sm">
        <thead className="border-b border-slate-300">
          <tr>
            <th className={headCell}>Name</th>
            <th className={headCell}>Email</th>
            <th className={headCell}>Roles</th>
            <th className={headCell}>Kind</th>
            <th className={headCell}>State</th>
          </tr>
        </thead>
        <tbody data-testid="agent-rows">
          {rows.map((agent) => (
            <tr key={agent.id} className="border-b border-slate-100">
              <td className={cell}>
                <Link to="/access/agents/$id" params={{ id: agent.id }} className="text-blue-800 underline-offset-2 hover:underline">
                  {agent.name}
                </Link>
              </td>
              <td className={cell}>{agent.email}</td>
              <td className={cell}>{agent.roles.map((r) => r.name).join(', ') || '—'}</td>
              <td className={cell}>{[agent.apiOnly ? 'API-only' : 'Console', agent.coManagedCustomerId ? 'co-managed' : null].filter(Boolean).join(', ')}</td>
              <td className={cell}>{agent.disabled ? 'Disabled' : 'Enabled'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.isSuccess && rows.length === 0 && <p className="text-sm">{q ? `No agent matches “${q}”.` : 'No agents yet.'}</p>}
      {list.data?.nextCursor && <p className="text-sm text-slate-700">The first 200 are shown: search to narrow them.</p>}
    </main>
  );
}
