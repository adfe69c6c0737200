import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { useState, type FormEvent } from 'react';
import { isApiError } from '../../api/problem';
import { Button } from '../../ui/button';
import { fieldProblem, ProblemNotice } from '../../ui/problem-notice';
import { agentQuery, agentRightsQuery, createAgent, customersQuery, rolesQuery, updateAgent, type Agent } from './access-queries';
import { AccessNav } from './access-nav';
import { useCan } from './can';
import { RightsView } from './rights-view';

const existingRoute = getRouteApi('/app/access/agents/$id');

export const input = 'rounded border border-slate-400 px-2 py-1.5 aria-[invalid]:border-red-700';

export function Field({ id, label, error, help, children }: { id: string; label: string; error?: string | undefined; help?: string; children: React.ReactNode }) {
  return (
    <div className="flex flex-col gap-1 text-sm">
      <label htmlFor={id} className="font-medium">
        {label}
      </label>
      {children}
      {help && (
        <p id={`${id}-help`} className="text-slate-600">
          {help}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="text-red-800">
          {error}
        </p>
      )}
    </div>
  );
}

export const describedBy = (id: string, error: string | undefined, help = false) => [help ? `${id}-help` : null, error ? `${id}-error` : null].filter(Boolean).join(' ') || undefined;

/** The words a problem has for a list field, at any index (`roleIds[2]`), or for the list itself. */
export function listProblem(error: unknown, path: string): string | undefined {
  const problems = isApiError(error) ? (error.problem.errors ?? []) : [];
  return problems.filter((p) => p.path === path || p.path.startsWith(`${path}[`)).map((p) => p.message).join(' ') || undefined;
}

/** Create or change an agent: who it is, API-only, the roles it holds and the co-managed customer it works for. */
function AgentForm({ agent }: { agent: Agent | null }) {
  const can = useCan();
  const roles = useQuery({ ...rolesQuery, enabled: can('config:read') });
  const customers = useQuery({ ...customersQuery, enabled: can('customers:read') });
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState(agent?.name ?? '');
  const [email, setEmail] = useState(agent?.email ?? '');
  const [apiOnly, setApiOnly] = useState(agent?.apiOnly ?? false);
  const [password, setPassword] = useState('');
  const [roleIds, setRoleIds] = useState<string[]>(agent?.roles.map((r) => r.id) ?? []);
  const [coManaged, setCoManaged] = useState(agent?.coManagedCustomerId ?? '');
  const save = useMutation({
    mutationFn: async () => {
      const common = { name, email, apiOnly, roleIds, coManagedCustomerId: coManaged || null };
      if (agent) return updateAgent(agent.id, common);
      return createAgent({ ...common, ...(password && !apiOnly ? { password } : {}) });
    },
    onSuccess: async (saved) => {
      await queryClient.invalidateQueries({ queryKey: ['access'] });
      if (!agent) await navigate({ to: '/access/agents/$id', params: { id: saved.id } });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  const errors = { name: fieldProblem(save.error, 'name'), email: fieldProblem(save.error, 'email'), password: fieldProblem(save.error, 'password'), coManaged: fieldProblem(save.error, 'coManagedCustomerId') };
  const roleError = listProblem(save.error, 'roleIds');
  return (
    <form onSubmit={submit} className="max-w-xl space-y-4" aria-label={agent ? `Change ${agent.name}` : 'New agent'}>
      <Field id="agent-name" label="Name" error={errors.name}>
        <input id="agent-name" className={input} required value={name} onChange={(e) => setName(e.target.value)} aria-invalid={errors.name ? true : undefined} aria-describedby={describedBy('agent-name', errors.name)} />
      </Field>
      <Field id="agent-email" label="Email" error={errors.email}>
        <input id="agent-email" type="email" className={input} required value={email} onChange={(e) => setEmail(e.target.value)} aria-invalid={errors.email ? true : undefined} aria-describedby={describedBy('agent-email', errors.email)} />
      </Field>
      <div className="flex gap-2 text-sm">
        <input id="agent-api-only" type="checkbox" className="mt-1 h-4 w-4" checked={apiOnly} onChange={(e) => setApiOnly(e.target.checked)} aria-describedby="agent-api-only-help" />
        <div>
          <label htmlFor="agent-api-only" className="font-medium">
            Is an API-only agent
          </label>
          <p id="agent-api-only-help" className="text-slate-600">
            An API-only agent never signs in to the console and has no password; an API application logs in as it.
          </p>
        </div>
      </div>
      {!agent && !apiOnly && (
        <Field id="agent-password" label="Console password (optional)" error={errors.password} help="At least 12 characters. Without one, the agent signs in only with single sign-on.">
          <input
            id="agent-password"
            type="password"
            autoComplete="new-password"
            className={input}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-invalid={errors.password ? true : undefined}
            aria-describedby={describedBy('agent-password', errors.password, true)}
          />
        </Field>
      )}
      <fieldset className="text-sm" aria-describedby={roleError ? 'agent-roles-error' : undefined}>
        <legend className="font-medium">Roles</legend>
        {!can('config:read') && <p className="text-slate-600">Reading roles needs configuration access.</p>}
        <ul className="mt-1 grid grid-cols-2 gap-1">
          {(roles.data ?? []).map((role) => (
            <li key={role.id} className="flex items-center gap-2">
              <input
                id={`role-${role.id}`}
                type="checkbox"
                className="h-4 w-4"
                checked={roleIds.includes(role.id)}
                onChange={(e) => setRoleIds(e.target.checked ? [...roleIds, role.id] : roleIds.filter((id) => id !== role.id))}
              />
              <label htmlFor={`role-${role.id}`}>{role.name}</label>
            </li>
          ))}
        </ul>
        {roleError && (
          <p id="agent-roles-error" className="text-red-800">
            {roleError}
          </p>
        )}
      </fieldset>
      {can('customers:read') && (
        <Field id="agent-co-managed" label="Co-managed customer" error={errors.coManaged} help="The co-managed IT customer this agent works for: it then sees only agents of that customer.">
          <select id="agent-co-managed" className={input} value={coManaged} onChange={(e) => setCoManaged(e.target.value)} aria-describedby={describedBy('agent-co-managed', errors.coManaged, true)}>
            <option value="">None (an agent of the service desk)</option>
            {(customers.data ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </Field>
      )}
      <ProblemNotice error={save.error} write />
      {save.isSuccess && agent && (
        <p role="status" className="text-sm text-green-800">
          Saved.
        </p>
      )}
      <Button type="submit" look="primary" isDisabled={save.isPending}>
        {save.isPending ? 'Saving…' : agent ? 'Save agent' : 'Create agent'}
      </Button>
    </form>
  );
}

export function NewAgentPage() {
  return (
    <main className="mx-auto max-w-6xl space-y-4 p-4">
      <AccessNav />
      <h1 className="text-xl font-semibold">New agent</h1>
      <AgentForm agent={null} />
    </main>
  );
}

/** One agent: its settings, disable or enable, and its effective rights explained. */
export function AgentPage() {
  const { id } = existingRoute.useParams();
  const agent = useQuery(agentQuery(id));
  const rights = useQuery(agentRightsQuery(id));
  const queryClient = useQueryClient();
  const toggle = useMutation({
    mutationFn: (disabled: boolean) => updateAgent(id, { disabled }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['access'] }),
  });
  if (agent.error) {
    return (
      <main className="mx-auto max-w-3xl p-4">
        <ProblemNotice error={agent.error} />
      </main>
    );
  }
  if (!agent.data) return <main className="p-4">Loading…</main>;
  const a = agent.data;
  return (
    <main className="mx-auto max-w-6xl space-y-4 p-4">
      <AccessNav />
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to="/access/agents" className="text-blue-800 underline">
          Agents
        </Link>{' '}
        › {a.name}
      </nav>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">{a.name}</h1>
        <span className="rounded bg-slate-100 px-2 text-sm">{a.apiOnly ? 'API-only' : a.hasPassword ? 'Console, password or single sign-on' : 'Console, single sign-on only'}</span>
        <span className={`rounded px-2 text-sm ${a.disabled ? 'bg-amber-100 text-amber-900' : 'bg-green-100 text-green-900'}`}>{a.disabled ? 'Disabled' : 'Enabled'}</span>
        <Button look={a.disabled ? 'primary' : 'danger'} className="ml-auto" isDisabled={toggle.isPending} onPress={() => toggle.mutate(!a.disabled)}>
          {a.disabled ? 'Enable agent' : 'Disable agent'}
        </Button>
      </div>
      <ProblemNotice error={toggle.error} write />
      <div className="grid gap-8 lg:grid-cols-2">
        <section aria-labelledby="agent-settings-heading">
          <h2 id="agent-settings-heading" className="mb-2 text-lg font-semibold">
            Settings
          </h2>
          <AgentForm key={a.updatedAt} agent={a} />
        </section>
        <section aria-labelledby="agent-rights-heading">
          <h2 id="agent-rights-heading" className="mb-2 text-lg font-semibold">
            Effective rights
          </h2>
          <ProblemNotice error={rights.error} />
          {rights.data && <RightsView rights={rights.data} labelledBy="agent-rights-heading" />}
        </section>
      </div>
    </main>
  );
}
