import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { useState, type FormEvent } from 'react';
import { isApiError } from '../../api/problem';
import { Button } from '../../ui/button';
import { Dialog } from '../../ui/dialog';
import { fieldProblem, ProblemNotice } from '../../ui/problem-notice';
import { agentsQuery, applicationQuery, createApplication, rotateSecret, updateApplication, type Application, type ApplicationCreate, type WithSecret } from './access-queries';
import { AccessNav } from './access-nav';
import { describedBy, Field, input } from './agent-page';
import { useCan } from './can';
import { permissionWords } from './rights-view';
import { SecretOnce } from './secret-once';

const existingRoute = getRouteApi('/app/access/applications/$id');

/** Each permission of the list, with the problem the server gave for it (it names them by index). */
function permissionProblems(error: unknown, sent: readonly string[]): Map<string, string> {
  const problems = new Map<string, string>();
  if (!isApiError(error)) return problems;
  for (const p of error.problem.errors ?? []) {
    const index = /^permissions\[(\d+)\]$/.exec(p.path);
    const permission = index ? sent[Number(index[1])] : undefined;
    if (permission) problems.set(permission, p.message);
  }
  return problems;
}

/** Name, the agent it logs in as, and permissions: checkboxes only for what the signed-in agent holds. */
function ApplicationForm({ application, onCreated }: { application: Application | null; onCreated?: (created: WithSecret) => void }) {
  const can = useCan();
  const queryClient = useQueryClient();
  const agents = useQuery(agentsQuery(undefined));
  const [name, setName] = useState(application?.name ?? '');
  const [agentId, setAgentId] = useState(application?.agentId ?? '');
  const [granted, setGranted] = useState<string[]>(application?.permissions ?? []);
  const offered = Object.keys(permissionWords).filter((p) => can(p) || granted.includes(p));
  const save = useMutation({
    gcTime: 0,
    mutationFn: async (sent: string[]) => {
      const body = { name, agentId, permissions: sent as ApplicationCreate['permissions'] };
      if (application) return { application: await updateApplication(application.id, body), clientSecret: null };
      return createApplication(body);
    },
    onSuccess: async (saved) => {
      await queryClient.invalidateQueries({ queryKey: ['access'] });
      if (!application && saved.clientSecret) onCreated?.(saved as WithSecret);
    },
  });
  const problems = permissionProblems(save.error, save.variables ?? []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(Object.keys(permissionWords).filter((p) => granted.includes(p)));
  };
  const errors = { name: fieldProblem(save.error, 'name'), agentId: fieldProblem(save.error, 'agentId'), permissions: fieldProblem(save.error, 'permissions') };
  return (
    <form onSubmit={submit} className="max-w-xl space-y-4" aria-label={application ? `Change ${application.name}` : 'New API application'}>
      <Field id="app-name" label="Application name" error={errors.name}>
        <input id="app-name" className={input} required value={name} onChange={(e) => setName(e.target.value)} aria-invalid={errors.name ? true : undefined} aria-describedby={describedBy('app-name', errors.name)} />
      </Field>
      <p className="text-sm">
        <span className="font-medium">Authentication method:</span> Client ID and Secret (services) · <span className="font-medium">Login type:</span> Agent
      </p>
      <Field id="app-agent" label="Agent to log in as" error={errors.agentId} help="An API-only agent is typical. The application never does more than this agent may.">
        <select id="app-agent" className={input} required value={agentId} onChange={(e) => setAgentId(e.target.value)} aria-invalid={errors.agentId ? true : undefined} aria-describedby={describedBy('app-agent', errors.agentId, true)}>
          <option value="">Choose an agent</option>
          {(agents.data?.items ?? []).map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
              {a.apiOnly ? ' (API-only)' : ''}
              {a.disabled ? ' — disabled' : ''}
            </option>
          ))}
        </select>
      </Field>
      <fieldset className="text-sm" aria-describedby="app-permissions-help">
        <legend className="font-medium">Permissions</legend>
        <p id="app-permissions-help" className="text-slate-600">
          Only permissions you hold can be granted. A token gets these intersected with the agent&apos;s own rights.
        </p>
        <ul className="mt-1 space-y-1">
          {offered.map((p) => {
            const problem = problems.get(p);
            return (
              <li key={p}>
                <div className="flex items-center gap-2">
                  <input
                    id={`permission-${p}`}
                    type="checkbox"
                    className="h-4 w-4"
                    checked={granted.includes(p)}
                    onChange={(e) => setGranted(e.target.checked ? [...granted, p] : granted.filter((g) => g !== p))}
                    aria-invalid={problem ? true : undefined}
                    aria-describedby={problem ? `permission-${p}-error` : undefined}
                  />
                  <label htmlFor={`permission-${p}`}>
                    {permissionWords[p]} <code className="text-xs text-slate-600">{p}</code>
                  </label>
                </div>
                {problem && (
                  <p id={`permission-${p}-error`} className="ml-6 text-red-800">
                    {problem}
                  </p>
                )}
              </li>
            );
          })}
        </ul>
        {errors.permissions && <p className="text-red-800">{errors.permissions}</p>}
      </fieldset>
      <ProblemNotice error={save.error} write />
      {save.isSuccess && application && (
        <p role="status" className="text-sm text-green-800">
          Saved.
        </p>
      )}
      <Button type="submit" look="primary" isDisabled={save.isPending}>
        {save.isPending ? 'Saving…' : application ? 'Save application' : 'Create application'}
      </Button>
    </form>
  );
}

export function NewApplicationPage() {
  const [created, setCreated] = useState<WithSecret | null>(null);
  return (
    <main className="mx-auto max-w-6xl space-y-4 p-4">
      <AccessNav />
      <h1 className="text-xl font-semibold">New API application</h1>
      {created ? (
        <div className="max-w-2xl space-y-4">
          <p>
            Application <strong>{created.application.name}</strong> was created.
          </p>
          <SecretOnce clientId={created.application.clientId} clientSecret={created.clientSecret} />
          <Link to="/access/applications/$id" params={{ id: created.application.id }} className="inline-block text-blue-800 underline">
            I have copied the secret — go to the application
          </Link>
        </div>
      ) : (
        <ApplicationForm application={null} onCreated={setCreated} />
      )}
    </main>
  );
}

/** One application: change it, disable or enable it, rotate its secret (the new one shown once). */
export function ApplicationPage() {
  const { id } = existingRoute.useParams();
  const app = useQuery(applicationQuery(id));
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [rotated, setRotated] = useState<WithSecret | null>(null);
  const toggle = useMutation({
    mutationFn: (enabled: boolean) => updateApplication(id, { enabled }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['access'] }),
  });
  const rotate = useMutation({
    gcTime: 0,
    mutationFn: () => rotateSecret(id),
    onSuccess: async (result) => {
      setRotated(result);
      await queryClient.invalidateQueries({ queryKey: ['access'] });
    },
  });
  if (app.error) {
    return (
      <main className="mx-auto max-w-3xl p-4">
        <ProblemNotice error={app.error} />
      </main>
    );
  }
  if (!app.data) return <main className="p-4">Loading…</main>;
  const a = app.data;
  const closeRotation = () => {
    setConfirming(false);
    setRotated(null);
    rotate.reset();
  };
  return (
    <main className="mx-auto max-w-6xl space-y-4 p-4">
      <AccessNav />
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to="/access/applications" className="text-blue-800 underline">
          API applications
        </Link>{' '}
        › {a.name}
      </nav>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">{a.name}</h1>
        <span className={`rounded px-2 text-sm ${a.enabled ? 'bg-green-100 text-green-900' : 'bg-amber-100 text-amber-900'}`}>{a.enabled ? 'Enabled' : 'Disabled'}</span>
        <div className="ml-auto flex gap-2">
          <Button onPress={() => setConfirming(true)}>Rotate secret…</Button>
          <Button look={a.enabled ? 'danger' : 'primary'} isDisabled={toggle.isPending} onPress={() => toggle.mutate(!a.enabled)}>
            {a.enabled ? 'Disable application' : 'Enable application'}
          </Button>
        </div>
      </div>
      <dl className="grid max-w-2xl grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm">
        <dt className="font-medium">Client ID</dt>
        <dd>
          <code>{a.clientId}</code>
        </dd>
        <dt className="font-medium">Client secret</dt>
        <dd>Set {new Date(a.secretRotatedAt).toLocaleString()} — shown only when created or rotated</dd>
      </dl>
      <ProblemNotice error={toggle.error} write />
      <ApplicationForm key={a.updatedAt} application={a} />
      <Dialog title={rotated ? 'The new client secret' : `Rotate the secret of ${a.name}?`} isOpen={confirming} onClose={closeRotation} busy={rotate.isPending}>
        {rotated ? (
          <div className="space-y-4">
            <SecretOnce clientId={rotated.application.clientId} clientSecret={rotated.clientSecret} />
            <Button look="primary" onPress={closeRotation}>
              I have copied it — close
            </Button>
          </div>
        ) : (
          <div className="space-y-4 text-sm">
            <p>A new client secret is issued and shown once. The old secret and every access token of the application stop working at once.</p>
            <ProblemNotice error={rotate.error} write />
            <div className="flex gap-2">
              <Button look="danger" isDisabled={rotate.isPending} onPress={() => rotate.mutate()}>
                Rotate the secret
              </Button>
              <Button onPress={closeRotation}>Cancel</Button>
            </div>
          </div>
        )}
      </Dialog>
    </main>
  );
}
