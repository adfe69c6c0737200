import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useId, useState, type InputHTMLAttributes } from 'react';
import { identityQuery } from '../../api/queries';
import { linkInstance, pipelineQuery, type LinkInput, type PeerStatus } from '../../api/sync';
import { useCan } from '../access/can';
import { Button } from '../../ui/button';
import { Dialog } from '../../ui/dialog';
import { fieldProblem, ProblemNotice } from '../../ui/problem-notice';

const mainStages = ['development', 'staging', 'production'] as const;
const sideStages = ['sandbox', 'beta', 'release-candidate'] as const;
const stageLabels: Record<string, string> = {
  development: 'Development',
  staging: 'Staging',
  production: 'Production',
  sandbox: 'Sandbox',
  beta: 'Beta',
  'release-candidate': 'Release candidate',
};

interface Here {
  name: string;
  kind: string;
  version: string;
  source: string | null;
}

/** One instance on the pipeline: this one, or a linked one with how far it is from this one and why it is not in sync. */
function InstanceCard({ peer, here }: { peer?: PeerStatus; here?: Here }) {
  if (here) {
    return (
      <li className="rounded border-2 border-blue-600 bg-white p-3 shadow-sm" data-instance={here.name} aria-label={`${here.name} (this instance)`}>
        <p className="font-semibold">
          {here.name} <span className="rounded bg-blue-100 px-1.5 text-xs font-medium text-blue-900">this instance</span>
        </p>
        <p className="text-xs text-slate-700">
          {stageLabels[here.kind] ?? here.kind} · version {here.version}
        </p>
        <p className="mt-1 text-xs">{here.source ? `Takes changes from ${here.source}` : 'Has no source'}</p>
      </li>
    );
  }
  const p = peer!;
  const counts = p.behind === null || p.ahead === null ? 'behind and ahead unknown' : `${p.behind} behind · ${p.ahead} ahead`;
  return (
    <li className={`rounded border bg-white p-3 shadow-sm ${p.inSync ? 'border-emerald-400' : 'border-amber-400'}`} data-instance={p.name} aria-label={p.name}>
      <p className="font-semibold">
        <Link to="/instances/$name" params={{ name: p.name }} className="text-blue-800 underline">
          {p.name}
        </Link>
        {p.relation === 'source' && <span className="ml-1.5 rounded bg-violet-100 px-1.5 text-xs font-medium text-violet-900">source of this instance</span>}
        {p.relation === 'downstream' && <span className="ml-1.5 rounded bg-slate-200 px-1.5 text-xs font-medium">takes changes from here</span>}
      </p>
      <p className="text-xs text-slate-700">
        {p.kind ? (stageLabels[p.kind] ?? p.kind) : 'kind unknown'} · {p.version ? `version ${p.version}` : 'version unknown'}
        {p.versionMatches === false && <span className="ml-1 font-semibold text-red-800">(not this instance's version)</span>}
      </p>
      <p className="mt-1 text-xs">
        <span className={p.reachable ? 'text-emerald-800' : 'font-semibold text-red-800'}>{p.reachable ? '● reachable' : '○ unreachable'}</span>
        {p.source && <> · source {p.source.name}</>}
      </p>
      <p className="mt-1 text-sm font-medium tabular-nums" data-testid="behind-ahead">
        {counts}
      </p>
      {p.inSync ? (
        <p className="text-xs font-medium text-emerald-800">In sync</p>
      ) : (
        <div className="text-xs text-amber-950">
          <p className="font-medium">Not in sync:</p>
          <ul className="list-disc pl-4">
            {p.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </div>
      )}
    </li>
  );
}

function Stage({ kind, peers, here }: { kind: string; peers: PeerStatus[]; here: Here }) {
  const mine = peers.filter((p) => p.kind === kind);
  const isHere = here.kind === kind;
  return (
    <section aria-label={`${stageLabels[kind]} stage`} className={`min-w-52 flex-1 rounded-lg p-2 ${kind === 'production' ? 'bg-red-50' : 'bg-slate-100'}`}>
      <h2 className={`mb-2 text-sm font-semibold tracking-wide uppercase ${kind === 'production' ? 'text-prod' : 'text-slate-700'}`}>{stageLabels[kind]}</h2>
      {mine.length === 0 && !isHere ? (
        <p className="text-xs text-slate-600">No linked instance</p>
      ) : (
        <ul className="space-y-2">
          {isHere && <InstanceCard here={here} />}
          {mine.map((p) => (
            <InstanceCard key={p.name} peer={p} />
          ))}
        </ul>
      )}
    </section>
  );
}

function Field({ id, label, error, path, help, ...input }: { id: string; label: string; error: unknown; path: string; help?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const message = fieldProblem(error, path);
  return (
    <div>
      <label htmlFor={id} className="block font-medium">
        {label}
      </label>
      <input
        id={id}
        {...input}
        aria-invalid={message ? true : undefined}
        aria-describedby={message ? `${id}-problem` : help ? `${id}-help` : undefined}
        className={`w-full rounded border px-2 py-1 ${message ? 'border-red-600' : 'border-slate-400'}`}
      />
      {help && !message && (
        <p id={`${id}-help`} className="text-xs text-slate-600">
          {help}
        </p>
      )}
      {message && (
        <p id={`${id}-problem`} className="text-xs text-red-800">
          {message}
        </p>
      )}
    </div>
  );
}

/** The fields of a link: a new one, or changes to an existing one (a blank secret keeps the stored one). */
export function LinkFields({ value, set, error, editing }: { value: LinkInput; set: (v: LinkInput) => void; error: unknown; editing: boolean }) {
  const id = useId();
  return (
    <div className="space-y-2">
      {!editing && <Field id={`${id}-name`} label="Name" path="name" error={error} value={value.name} onChange={(e) => set({ ...value, name: e.target.value })} help="The name the other instance goes by, e.g. staging." />}
      <Field id={`${id}-url`} label="URL" path="url" error={error} value={value.url} onChange={(e) => set({ ...value, url: e.target.value })} help="Where this instance reaches it, e.g. https://staging.desk.example.com" />
      <Field id={`${id}-client`} label="Client id" path="clientId" error={error} value={value.clientId} onChange={(e) => set({ ...value, clientId: e.target.value })} help="Of an API application on the other instance, with config:read and config:push." />
      <Field
        id={`${id}-secret`}
        label="Client secret"
        path="clientSecret"
        error={error}
        type="password"
        autoComplete="off"
        value={value.clientSecret}
        onChange={(e) => set({ ...value, clientSecret: e.target.value })}
        help={editing ? 'Leave blank to keep the stored secret. It is stored encrypted and never shown.' : 'Stored encrypted and never shown again.'}
      />
      <label className="flex items-center gap-1.5">
        <input type="checkbox" checked={value.source ?? false} onChange={(e) => set({ ...value, source: e.target.checked })} />
        It is the source of this instance: this instance takes changes only from it (pipeline mode)
      </label>
    </div>
  );
}

const emptyLink: LinkInput = { name: '', url: '', clientId: '', clientSecret: '', source: false };

function LinkDialog({ isOpen, onClose }: { isOpen: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [value, setValue] = useState<LinkInput>(emptyLink);
  const link = useMutation({
    mutationFn: () => linkInstance({ ...value, name: value.name.trim(), url: value.url.trim(), clientId: value.clientId.trim() }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['instances'] });
      setValue(emptyLink);
      onClose();
    },
  });
  return (
    <Dialog title="Link an instance" isOpen={isOpen} onClose={onClose} busy={link.isPending}>
      <form
        className="space-y-3 text-sm"
        onSubmit={(e) => {
          e.preventDefault();
          link.mutate();
        }}
      >
        <LinkFields value={value} set={setValue} error={link.error} editing={false} />
        <ProblemNotice error={link.error} write />
        <div className="flex justify-end gap-2">
          <Button onPress={onClose} isDisabled={link.isPending}>
            Cancel
          </Button>
          <Button look="primary" type="submit" isDisabled={link.isPending}>
            {link.isPending ? 'Linking…' : 'Link'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** The pipeline drawn as stages: development → staging → production, the other kinds beside it. */
export function PipelinePage() {
  const { data: identity } = useSuspenseQuery(identityQuery);
  const peers = useQuery(pipelineQuery);
  const [linking, setLinking] = useState(false);
  const can = useCan();
  const list = peers.data ?? [];
  const here: Here = { name: identity.name, kind: identity.kind, version: identity.version, source: list.find((p) => p.relation === 'source')?.name ?? null };
  const pipelineMode = here.source !== null || list.some((p) => p.relation === 'downstream');
  const side = sideStages.filter((k) => k === here.kind || list.some((p) => p.kind === k));
  const other = list.filter((p) => !p.kind || ![...mainStages, ...sideStages].includes(p.kind as (typeof mainStages)[number]));

  return (
    <main className="mx-auto max-w-7xl px-4 py-4">
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <div className="mr-auto">
          <h1 className="text-xl font-semibold">Instances and pipeline</h1>
          <p className="text-sm text-slate-600">
            {pipelineMode
              ? 'Pipeline mode: each instance takes changes only from its source, in one direction.'
              : 'No instance has a source yet: any linked instance may sync with any other. Set a source to restrict syncing to a pipeline.'}
          </p>
        </div>
        <Button look="secondary" onPress={() => void peers.refetch()} isDisabled={peers.isFetching}>
          {peers.isFetching ? 'Checking…' : 'Check again'}
        </Button>
        {can('config:push') && (
          <Button look="primary" onPress={() => setLinking(true)}>
            Link an instance…
          </Button>
        )}
      </div>
      {peers.isPending && <p className="text-sm text-slate-600">Asking each linked instance how far it is…</p>}
      <ProblemNotice error={peers.error} />
      {peers.isSuccess && (
        <div className="space-y-4" data-testid="pipeline">
          <div className="flex items-stretch gap-2" role="group" aria-label="Pipeline: development, staging, production">
            {mainStages.map((kind, i) => (
              <div key={kind} className="contents">
                {i > 0 && (
                  <span aria-hidden="true" className="self-center text-2xl text-slate-500">
                    →
                  </span>
                )}
                <Stage kind={kind} peers={list} here={here} />
              </div>
            ))}
          </div>
          {side.length > 0 && (
            <div className="flex gap-2" role="group" aria-label="Beside the pipeline">
              {side.map((kind) => (
                <Stage key={kind} kind={kind} peers={list} here={here} />
              ))}
            </div>
          )}
          {other.length > 0 && (
            <section aria-label="Kind unknown">
              <h2 className="mb-2 text-sm font-semibold text-slate-700 uppercase">Kind unknown (unreachable)</h2>
              <ul className="grid grid-cols-3 gap-2">
                {other.map((p) => (
                  <InstanceCard key={p.name} peer={p} />
                ))}
              </ul>
            </section>
          )}
          {list.length === 0 && <p className="text-sm">No instance is linked yet. Link one with the client id and secret of an API application on it.</p>}
        </div>
      )}
      <LinkDialog isOpen={linking} onClose={() => setLinking(false)} />
    </main>
  );
}
