import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { isApiError } from '../../api/problem';
import { instanceQuery, peersQuery } from '../../api/queries';
import { Button } from '../../ui/button';
import { Dialog } from '../../ui/dialog';
import { NotFound } from '../../ui/not-found';
import { ProblemNotice } from '../../ui/problem-notice';
import { useChangeSet } from './change-set';
import { areaName } from './config-home-page';
import { blankOf } from './json-schema';
import { catalogTypesQuery, createEntity, deleteEntity, entityQuery, replaceEntity, type CatalogType, type EntityView, type WriteOutcome } from './config-queries';
import { AfterForm, ConfigForm, hasEditor } from './config-form';
import { TrackingNote } from './tracking-note';
import { singular as singularOf } from './words';

const existingRoute = getRouteApi('/app/config/$type/$id');
const newRoute = getRouteApi('/app/config/$type/new');
const LOCK_WORDS = 'Editing of config-tracked entities is disabled on this instance. Lift the lock only in an emergency; turn it back on in the settings afterwards.';

export function NewEntityPage() {
  const { type } = newRoute.useParams();
  const { fields } = newRoute.useSearch();
  return <EntityScreen typeKey={type} id={null} saved={{ ...(fields ? { fields } : {}) }} />;
}

export function EntityPage() {
  const { type, id } = existingRoute.useParams();
  const saved = existingRoute.useSearch();
  return <EntityScreen typeKey={type} id={id} saved={saved} />;
}

interface SavedSearch {
  saved?: string;
  changeSet?: string;
  /** `all`: the form generated from the schema, every field, instead of the type's own editor. */
  fields?: 'all';
}

function EntityScreen({ typeKey, id, saved }: { typeKey: string; id: string | null; saved: SavedSearch | undefined }) {
  const { data: types } = useSuspenseQuery(catalogTypesQuery);
  const type = types.find((t) => t.key === typeKey);
  const entity = useQuery({ ...entityQuery(typeKey, id ?? ''), enabled: Boolean(type && id), staleTime: Infinity, refetchOnWindowFocus: false });
  // A reload starts the form again from the version read.
  const [generation, setGeneration] = useState(0);
  if (!type) return <NotFound />;
  if (id && entity.isPending) return <main className="p-4">Loading…</main>;
  if (id && entity.error) return <main className="mx-auto max-w-3xl p-4"><ProblemNotice error={entity.error} /></main>;
  return (
    <EntityForm
      key={`${id ?? 'new'}:${entity.data?.version ?? ''}:${generation}`}
      type={type}
      types={types}
      entity={entity.data ?? null}
      saved={saved}
      reload={async () => {
        await entity.refetch();
        setGeneration((g) => g + 1);
      }}
    />
  );
}

function EntityForm({ type, types, entity, saved, reload }: { type: CatalogType; types: CatalogType[]; entity: EntityView | null; saved: SavedSearch | undefined; reload: () => Promise<void> }) {
  const allFields = saved?.fields === 'all';
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const peers = useQuery(peersQuery);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const changeSet = useChangeSet();
  const [draft, setDraft] = useState<Record<string, unknown>>(() => (entity ? structuredClone(entity.body) : (blankOf(type.schema) as Record<string, unknown>)));
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleted, setDeleted] = useState<WriteOutcome | null>(null);
  const canEdit = instance.you.permissions.includes('config:edit');
  const locked = instance.editingDisabled && type.tracking.kind !== 'local';
  const lockWords = instance.banners.find((b) => b.code === 'CONFIG_EDITING_DISABLED')?.message ?? LOCK_WORDS;
  const labels = new Map(types.map((t) => [t.key, t.label]));
  const instances = [instance.name, ...(peers.data ?? []).map((p) => p.name)];

  /** The type's lists and pickers, read again when next shown. */
  const invalidateLists = () => queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] === 'config' && q.queryKey[1] === type.key && q.queryKey[2] !== 'entity' });
  const save = useMutation({
    mutationFn: () => (entity ? replaceEntity(type.key, entity.id, entity.version, draft, changeSet) : createEntity(type.key, draft, changeSet)),
    onSuccess: async (outcome) => {
      // The answer is the entity as saved: the page shows it at once, without reading it again.
      queryClient.setQueryData(entityQuery(type.key, outcome.entity!.id).queryKey, outcome.entity!);
      void invalidateLists();
      await navigate({
        to: '/config/$type/$id',
        params: { type: type.key, id: outcome.entity!.id },
        // A new entity that records no change is of a type not tracked now; a replacement may also have changed nothing.
        search: { saved: outcome.changeId ?? (entity ? 'unchanged' : 'untracked'), ...(changeSet && outcome.changeId ? { changeSet } : {}), ...(allFields ? { fields: 'all' as const } : {}) },
        replace: Boolean(entity),
      });
    },
  });
  const remove = useMutation({
    mutationFn: () => deleteEntity(type.key, entity!.id, entity!.version, changeSet),
    onSuccess: async (outcome) => {
      setConfirmDelete(false);
      setDeleted(outcome);
      // The lists and pickers, not this page's entity: its page says it was deleted.
      await invalidateLists();
    },
  });
  const refused = save.error ?? remove.error;
  const stale = isApiError(refused) && refused.status === 412;
  const lockRefused = isApiError(refused) && refused.status === 423;
  const singular = singularOf(type.label);
  const history = entity && type.tracking.kind !== 'local' && (
    <Link to="/changes" search={{ entityId: entity.id }} className="text-sm text-blue-800 underline">
      History of this {singular} in the change list
    </Link>
  );

  if (deleted && entity)
    return (
      <main className="mx-auto max-w-3xl space-y-3 p-4">
        <h1 className="text-xl font-semibold">Deleted {entity.name}</h1>
        <p role="status">
          The {singular} was deleted{deleted.changeId ? ' and the deletion recorded' : ''}
          {changeSet && deleted.changeId ? (
            <>
              {' '}
              in change set <strong>{changeSet}</strong>
            </>
          ) : null}
          .
        </p>
        <div className="flex gap-4">
          {history}
          <Link to="/config/$type" params={{ type: type.key }} className="text-sm text-blue-800 underline">
            Back to {type.label.toLowerCase()}
          </Link>
        </div>
      </main>
    );

  return (
    <main className="mx-auto max-w-3xl space-y-4 p-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to="/config" className="text-blue-800 underline">
          Configuration
        </Link>{' '}
        › {areaName(type.area)} ›{' '}
        <Link to="/config/$type" params={{ type: type.key }} className="text-blue-800 underline">
          {type.label}
        </Link>
      </nav>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">{entity ? entity.name : `New ${singular}`}</h1>
        <TrackingNote type={type} />
        <span className="ml-auto">{history}</span>
      </div>
      {saved?.saved && (
        <p role="status" className="rounded border border-emerald-300 bg-emerald-50 px-3 py-2 text-sm text-emerald-950" data-testid="saved-note">
          {saved.saved === 'unchanged' || saved.saved === 'untracked' ? (
            unrecorded(type, saved.saved)
          ) : (
            <>
              Saved and recorded as{' '}
              <Link to="/changes/$changeId" params={{ changeId: saved.saved }} className="underline">
                a change
              </Link>
              {saved.changeSet ? (
                <>
                  {' '}
                  in change set <strong>{saved.changeSet}</strong>
                </>
              ) : (
                ' with no change-set label'
              )}
              .
            </>
          )}
        </p>
      )}
      {locked && (
        <p role="note" className="rounded border border-amber-300 bg-amber-100 px-3 py-2 text-sm text-amber-950" data-testid="lock-note">
          {lockWords}
        </p>
      )}
      {!canEdit && <p className="text-sm text-slate-700">You may read this {singular}; editing needs the config:edit permission.</p>}
      <form
        aria-label={entity ? `Edit ${entity.name}` : `New ${singular}`}
        noValidate
        className="space-y-4"
        onSubmit={(e) => {
          e.preventDefault();
          if (canEdit && !locked) save.mutate();
        }}
      >
        {hasEditor(type.key) && (
          <p className="text-sm">
            {allFields ? (
              <Link to="." search={(prev: SavedSearch) => ({ ...prev, fields: undefined })} className="text-blue-800 underline">
                Back to the {singular} editor
              </Link>
            ) : (
              <Link to="." search={(prev: SavedSearch) => ({ ...prev, fields: 'all' as const })} className="text-blue-800 underline">
                Every field of the {singular}, as its schema has them
              </Link>
            )}
          </p>
        )}
        <ConfigForm type={type} labels={labels} instances={instances} value={draft} onChange={setDraft} error={refused} readOnly={!canEdit || locked} entityId={entity?.id ?? null} allFields={allFields} />
        {stale ? (
          <div role="alert" className="rounded border border-amber-400 bg-amber-50 p-3 text-sm text-amber-950" data-testid="stale-edit">
            <p>
              <strong>Someone changed this {singular} since you opened it.</strong> Nothing was written: saving now would overwrite their change without you
              seeing it. Reload to see the current version, then make your edits again.
            </p>
            <Button className="mt-2" onPress={() => void reload()}>
              Reload the current version
            </Button>
          </div>
        ) : lockRefused ? (
          <div role="alert" className="rounded border border-amber-300 bg-amber-100 p-3 text-sm text-amber-950">
            {lockWords} Nothing was written.
          </div>
        ) : (
          <ProblemNotice error={refused} write />
        )}
        {canEdit && !locked && (
          <div className="flex flex-wrap items-center gap-3 border-t border-slate-200 pt-3">
            <Button type="submit" look="primary" isDisabled={save.isPending}>
              {save.isPending ? 'Saving…' : entity ? 'Save' : `Create ${singular}`}
            </Button>
            <span className="text-sm text-slate-700" data-testid="save-change-set">
              {type.tracking.kind === 'local' ? 'Not tracked: no change is recorded.' : changeSet ? <>Change set: <strong>{changeSet}</strong></> : 'No change-set label (set one on the Configuration page).'}
            </span>
            {entity && (
              <Button look="danger" className="ml-auto" onPress={() => setConfirmDelete(true)}>
                Delete…
              </Button>
            )}
          </div>
        )}
      </form>
      {entity && <AfterForm type={type} entityId={entity.id} canEdit={canEdit && !locked} />}
      {entity && (
        <Dialog title={`Delete ${entity.name}?`} isOpen={confirmDelete} onClose={() => setConfirmDelete(false)} busy={remove.isPending}>
          <div className="space-y-3 text-sm">
            <p>
              {type.tracking.kind === 'local'
                ? `The ${singular} is removed from this instance.`
                : `The deletion is recorded as a change${changeSet ? ` in change set ${changeSet}` : ''}; it moves along the pipeline and can be rolled back.`}
            </p>
            <ProblemNotice error={remove.error} write />
            <div className="flex justify-end gap-2">
              <Button isDisabled={remove.isPending} onPress={() => setConfirmDelete(false)}>
                Keep it
              </Button>
              <Button look="danger" isDisabled={remove.isPending} onPress={() => remove.mutate()}>
                {remove.isPending ? 'Deleting…' : `Delete ${singular}`}
              </Button>
            </div>
          </div>
        </Dialog>
      )}
    </main>
  );
}

/** Why a save recorded no change: the type is local, or tracked only under a setting that is off, or nothing changed. */
function unrecorded(type: CatalogType, saved: 'unchanged' | 'untracked'): string {
  if (type.tracking.kind === 'local') return 'Saved. Local to this instance: no change was recorded.';
  const setting = type.tracking.setting ?? 'its tracking setting';
  if (saved === 'untracked') return `Saved. Not tracked while the setting ${setting} is off: no change was recorded.`;
  if (type.tracking.kind === 'tracked-when') return `Saved. Nothing changed, or the setting ${setting} is off: no change was recorded.`;
  return 'Saved. Nothing changed, so no change was recorded.';
}
