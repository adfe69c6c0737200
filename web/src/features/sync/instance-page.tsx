import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { identityQuery } from '../../api/queries';
import { peerStatusQuery, stateDiffQuery, unlinkInstance, updateInstance, type LinkInput, type PeerStatus, type StateDiff, type TransferOperation } from '../../api/sync';
import { Button } from '../../ui/button';
import { Dialog } from '../../ui/dialog';
import { formatTime, operationLabels } from '../../ui/format';
import { ProblemNotice } from '../../ui/problem-notice';
import { useCan } from '../access/can';
import { LinkFields } from './pipeline-page';
import { RestoreDialog } from './restore-dialog';
import { TransferDialog } from './transfer-dialog';

const route = getRouteApi('/app/instances/$name');
type Brief = NonNullable<PeerStatus['behindChanges']>[number];

function ChangeBriefs({ title, changes, total, empty }: { title: string; changes: Brief[]; total: number | null; empty: string }) {
  return (
    <section aria-label={title} className="rounded border border-slate-300 bg-white">
      <h2 className="border-b border-slate-200 bg-slate-50 px-3 py-1.5 text-sm font-semibold">
        {title} ({total ?? 'unknown'})
      </h2>
      {changes.length === 0 ? (
        <p className="px-3 py-2 text-sm text-slate-600">{empty}</p>
      ) : (
        <ol className="max-h-72 overflow-y-auto text-sm">
          {changes.map((c) => (
            <li key={c.id} className="flex gap-2 border-b border-slate-100 px-3 py-1 last:border-0">
              <span className="font-medium">{c.entityName || c.entityId}</span>
              <span className="text-slate-600">
                {c.type} · {operationLabels[c.op] ?? c.op}
                {c.changeSet ? ` · ${c.changeSet}` : ''}
              </span>
              <span className="ml-auto text-xs text-slate-600 tabular-nums">{formatTime(c.at)}</span>
            </li>
          ))}
          {total !== null && total > changes.length && <li className="px-3 py-1 text-xs text-slate-600">and {total - changes.length} more</li>}
        </ol>
      )}
    </section>
  );
}

function show(value: unknown): string {
  if (value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Which tracked entities differ between the two instances, field by field. */
function StateDiffView({ diff, peer, here }: { diff: StateDiff; peer: string; here: string }) {
  if (diff.inSync) return <p className="text-sm text-emerald-800">Every tracked entity is the same on {here} and {peer}.</p>;
  return (
    <div className="space-y-3 text-sm" data-testid="state-diff">
      {diff.onlyHere.length > 0 && (
        <p>
          <strong>Only on {here}:</strong> {diff.onlyHere.map((e) => `${e.name || e.id} (${e.type})`).join(', ')}
        </p>
      )}
      {diff.onlyThere.length > 0 && (
        <p>
          <strong>Only on {peer}:</strong> {diff.onlyThere.map((e) => `${e.name || e.id} (${e.type})`).join(', ')}
        </p>
      )}
      {diff.different.map((d) => (
        <table key={`${d.type}:${d.id}`} className="w-full table-fixed border-collapse bg-white text-xs" aria-label={`${d.name || d.id} differs`}>
          <caption className="py-1 text-left text-sm font-medium">
            {d.name || d.id} <span className="font-normal text-slate-600">({d.type})</span>
          </caption>
          <thead>
            <tr className="bg-slate-100 text-left">
              <th scope="col" className="w-40 border border-slate-300 px-1.5 py-1">
                Field
              </th>
              <th scope="col" className="border border-slate-300 px-1.5 py-1">
                On {here}
              </th>
              <th scope="col" className="border border-slate-300 px-1.5 py-1">
                On {peer}
              </th>
            </tr>
          </thead>
          <tbody>
            {d.fields.map((f) => (
              <tr key={f.path} className="align-top">
                <th scope="row" className="border border-slate-300 px-1.5 py-1 text-left font-mono font-normal">
                  {f.path}
                </th>
                <td className="border border-slate-300 px-1.5 py-1 break-words">{show(f.before)}</td>
                <td className="border border-slate-300 px-1.5 py-1 break-words">{show(f.after)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </div>
  );
}

function EditLinkDialog({ status, isOpen, onClose }: { status: PeerStatus; isOpen: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [value, setValue] = useState<LinkInput>({ name: status.name, url: status.url, clientId: status.clientId, clientSecret: '', source: status.isSource });
  const save = useMutation({
    mutationFn: () =>
      updateInstance(status.name, {
        ...(value.url !== status.url ? { url: value.url.trim() } : {}),
        ...(value.clientId !== status.clientId ? { clientId: value.clientId.trim() } : {}),
        ...(value.clientSecret ? { clientSecret: value.clientSecret } : {}),
        ...(value.source !== status.isSource ? { source: value.source ?? false } : {}),
      }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['instances'] });
      onClose();
    },
  });
  return (
    <Dialog title={`Edit the link to ${status.name}`} isOpen={isOpen} onClose={onClose} busy={save.isPending}>
      <form
        className="space-y-3 text-sm"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <LinkFields value={value} set={setValue} error={save.error} editing />
        <ProblemNotice error={save.error} write />
        <div className="flex justify-end gap-2">
          <Button onPress={onClose} isDisabled={save.isPending}>
            Cancel
          </Button>
          <Button look="primary" type="submit" isDisabled={save.isPending}>
            {save.isPending ? 'Saving…' : 'Save'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function UnlinkDialog({ name, isOpen, onClose }: { name: string; isOpen: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const unlink = useMutation({
    mutationFn: () => unlinkInstance(name),
    onSuccess: async () => {
      queryClient.removeQueries({ queryKey: ['instances', 'status', name] });
      await queryClient.invalidateQueries({ queryKey: ['instances'] });
      onClose();
      await navigate({ to: '/instances' });
    },
  });
  return (
    <Dialog title={`Unlink ${name}?`} isOpen={isOpen} onClose={onClose} busy={unlink.isPending}>
      <div className="space-y-3 text-sm">
        <p>This instance forgets the link and its stored credentials. If {name} is this instance's source, pipeline mode ends for this edge. Nothing on {name} changes.</p>
        <ProblemNotice error={unlink.error} write />
        <div className="flex justify-end gap-2">
          <Button onPress={onClose} isDisabled={unlink.isPending}>
            Keep the link
          </Button>
          <Button look="danger" onPress={() => unlink.mutate()} isDisabled={unlink.isPending}>
            {unlink.isPending ? 'Unlinking…' : 'Unlink'}
          </Button>
        </div>
      </div>
    </Dialog>
  );
}

type Open = null | 'push' | 'pull' | 'restore' | 'edit' | 'unlink';

/** One linked instance: how far it is from this one, both directions listed, the state diff, and what can be done. */
export function InstancePage() {
  const { name } = route.useParams();
  const { data: identity } = useSuspenseQuery(identityQuery);
  const status = useQuery(peerStatusQuery(name));
  const [open, setOpen] = useState<Open>(null);
  const can = useCan();
  const [showDiff, setShowDiff] = useState(false);
  const diff = useQuery({ ...stateDiffQuery(name), enabled: showDiff });
  const s = status.data;
  const transferOp: TransferOperation | null = open === 'push' || open === 'pull' ? open : null;

  return (
    <main className="mx-auto max-w-7xl space-y-4 px-4 py-4">
      <p className="text-sm">
        <Link to="/instances" className="text-blue-800 hover:underline">
          ← Instances and pipeline
        </Link>
      </p>
      <div>
        <div>
          <h1 className="text-xl font-semibold">{name}</h1>
          {s && (
            <p className="text-sm text-slate-700">
              {s.kind ?? 'kind unknown'} · {s.version ? `version ${s.version}` : 'version unknown'} · {s.reachable ? 'reachable' : 'unreachable'} · {s.url}
              {s.relation === 'source' && ' · the source of this instance'}
              {s.relation === 'downstream' && ' · takes changes from this instance'}
              {s.lastSyncAt && ` · last sync ${formatTime(s.lastSyncAt)}`}
            </p>
          )}
        </div>
        {/* Syncing and linking need config:push: without it, no button is offered. */}
        {can('config:push') && (
          <div className="mt-2 flex flex-wrap gap-2">
            {/* In a pipeline, changes go only from a source to the instances downstream of it. */}
            {s?.relation !== 'source' && (
              <Button look="primary" onPress={() => setOpen('push')} isDisabled={!s}>
                Push to {name}…
              </Button>
            )}
            {s?.relation !== 'downstream' && (
              <Button look="primary" onPress={() => setOpen('pull')} isDisabled={!s}>
                Pull from {name}…
              </Button>
            )}
            {s?.kind === 'production' && identity.kind !== 'production' && (
              <Button look="danger" onPress={() => setOpen('restore')}>
                Restore from production…
              </Button>
            )}
            <Button onPress={() => setOpen('edit')} isDisabled={!s}>
              Edit link…
            </Button>
            <Button onPress={() => setOpen('unlink')}>Unlink…</Button>
          </div>
        )}
      </div>
      {status.isPending && <p className="text-sm text-slate-600">Reconciling with {name}…</p>}
      <ProblemNotice error={status.error} />
      {s && (
        <>
          <div className={`rounded border p-3 text-sm ${s.inSync ? 'border-emerald-400 bg-emerald-50' : 'border-amber-400 bg-amber-50'}`} role="status">
            <p className="font-semibold">
              {s.inSync ? `In sync with ${name}` : `Not in sync with ${name}`}
              {s.behind !== null && s.ahead !== null && ` — ${s.behind} behind, ${s.ahead} ahead`}
            </p>
            {s.reasons.length > 0 && (
              <ul className="mt-1 list-disc pl-5">
                {s.reasons.map((r) => (
                  <li key={r}>{r}</li>
                ))}
              </ul>
            )}
          </div>
          <div className="grid gap-4 md:grid-cols-2">
            <ChangeBriefs title="Changes behind" changes={s.behindChanges ?? []} total={s.behind} empty={`This instance has every change of ${name}.`} />
            <ChangeBriefs title="Changes ahead" changes={s.aheadChanges ?? []} total={s.ahead} empty={`${name} has every change of this instance.`} />
          </div>
          <section aria-labelledby="state-diff-heading" className="space-y-2">
            <h2 id="state-diff-heading" className="text-lg font-semibold">
              State diff
            </h2>
            <p className="text-sm text-slate-600">Compares the tracked entities themselves, not the logs: useful when histories have diverged.</p>
            {!showDiff ? (
              <Button onPress={() => setShowDiff(true)}>Compare the state with {name}</Button>
            ) : diff.isPending ? (
              <p className="text-sm text-slate-600">Comparing…</p>
            ) : diff.data ? (
              <StateDiffView diff={diff.data} peer={name} here={identity.name} />
            ) : (
              <ProblemNotice error={diff.error} />
            )}
          </section>
          {transferOp && <TransferDialog operation={transferOp} peer={name} candidates={(transferOp === 'push' ? s.aheadChanges : s.behindChanges) ?? []} isOpen onClose={() => setOpen(null)} />}
          {open === 'restore' && <RestoreDialog production={name} here={identity.name} isOpen onClose={() => setOpen(null)} />}
          {open === 'edit' && <EditLinkDialog status={s} isOpen onClose={() => setOpen(null)} />}
        </>
      )}
      {open === 'unlink' && <UnlinkDialog name={name} isOpen onClose={() => setOpen(null)} />}
    </main>
  );
}
