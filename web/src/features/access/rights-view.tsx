import type { Rights } from './access-queries';

/** The words of each permission, as the guides speak of them. */
export const permissionWords: Record<string, string> = {
  'tickets:read': 'Read tickets',
  'tickets:edit': 'Edit tickets',
  'customers:read': 'Read customers (and their users)',
  'customers:edit': 'Edit customers',
  'users:read': 'Read users',
  'users:edit': 'Edit users',
  'assets:read': 'Read assets',
  'assets:edit': 'Edit assets',
  'config:read': 'Read configuration and its changes',
  'config:edit': 'Edit configuration',
  'config:push': 'Push configuration changes',
  'changes:rollback': 'Roll back changes',
  'access:manage': 'Manage agents, roles and API applications',
  'audit:read': 'Read the audit log',
};

const sources = (grantedBy: Rights['permissions'][number]['grantedBy']) => grantedBy.map((s) => `${s.roleName} (${s.because})`).join('; ');

/** An agent's effective rights, explained: which role gives which right, and what none gives. */
export function RightsView({ rights, labelledBy }: { rights: Rights; labelledBy: string }) {
  return (
    <div className="space-y-4" data-testid="rights">
      {rights.disabled && <p className="rounded bg-amber-50 p-2 text-sm text-amber-900">This agent is disabled: it holds no role and has no rights until it is enabled again.</p>}
      {!rights.disabled && rights.roles.length === 0 && <p className="text-sm">No role holds this agent, so it has no rights.</p>}
      <table className="w-full text-left text-sm" aria-labelledby={labelledBy}>
        <thead className="border-b border-slate-300">
          <tr>
            <th className="py-1 font-semibold">Permission</th>
            <th className="py-1 font-semibold">Given by</th>
          </tr>
        </thead>
        <tbody>
          {rights.permissions.map((p) => (
            <tr key={p.permission} className="border-b border-slate-100">
              <td className="py-1.5">
                {permissionWords[p.permission] ?? p.permission} <code className="text-xs text-slate-600">{p.permission}</code>
              </td>
              <td className="py-1.5">{sources(p.grantedBy)}</td>
            </tr>
          ))}
          {rights.notGranted.map((p) => (
            <tr key={p} className="border-b border-slate-100 text-slate-600">
              <td className="py-1.5">
                {permissionWords[p] ?? p} <code className="text-xs">{p}</code>
              </td>
              <td className="py-1.5">Not given by any role held</td>
            </tr>
          ))}
        </tbody>
      </table>
      <section aria-label="Ticket permissions">
        <h3 className="font-medium">Ticket permissions</h3>
        {rights.ticketPermissions.length === 0 ? (
          <p className="text-sm text-slate-700">None.</p>
        ) : (
          <ul className="list-disc pl-5 text-sm">
            {rights.ticketPermissions.map((f) => (
              <li key={f.flag}>
                <code>{f.flag}</code> — {f.grantedBy.map((s) => s.roleName).join(', ')}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-label="Teams">
        <h3 className="font-medium">Teams</h3>
        {rights.teams.length === 0 ? (
          <p className="text-sm text-slate-700">No team membership: only tickets the ticket permissions reach.</p>
        ) : (
          <ul className="list-disc pl-5 text-sm">
            {rights.teams.map((t) => (
              <li key={t.teamId}>
                {t.teamName ?? t.teamId}: {t.access === 'modify' ? 'read and modify' : 'read'} — {sources(t.grantedBy)}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-label="Customers">
        <h3 className="font-medium">Customers</h3>
        {rights.customers.all ? (
          <p className="text-sm">Every customer: neither the agent nor any role it holds restricts them.</p>
        ) : (
          <>
            <p className="text-sm">Only {rights.customers.customers.length === 0 ? 'none' : rights.customers.customers.map((c) => c.name ?? c.id).join(', ')}, what every restriction below allows:</p>
            <ul className="list-disc pl-5 text-sm">
              {rights.customers.restrictedBy.map((r) => (
                <li key={`${r.source}:${r.roleId ?? ''}`}>
                  {r.source === 'agent' ? "The agent's own client restrictions" : `Role ${r.roleName ?? ''}`}: {r.customers.map((c) => c.name ?? c.id).join(', ') || 'no customer'}
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
    </div>
  );
}
