import { useInfiniteQuery, useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { useCallback, useState } from 'react';
import { instanceQuery } from '../../api/queries';
import { Button } from '../../ui/button';
import { formatTime } from '../../ui/format';
import { ProblemNotice } from '../../ui/problem-notice';
import { assetQuery, assetsQuery, choicesQuery, createAsset, customerPickerQuery, nameOf, replaceAsset, usersQuery, type Asset } from './desk-queries';
import { DeskField, DeskForm, DeskNav, DeskTable, inputClass, linkClass, Picker, SearchBox, ShowMore, TextField, Unread } from './desk-nav';

const listRoute = getRouteApi('/app/desk/assets');
const assetRoute = getRouteApi('/app/desk/assets/$assetId');

const serviceClasses = { none: 'An asset', service: 'A service', 'business-application': 'A business application' } as const;

/** Assets the agent sees (its customers' and those of no customer), by name, with search. */
export function AssetsPage() {
  const { q } = listRoute.useSearch();
  const navigate = listRoute.useNavigate();
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const customers = useQuery({ ...customerPickerQuery, enabled: instance.you.permissions.includes('customers:read') });
  const list = useInfiniteQuery(assetsQuery(q));
  const apply = useCallback((text: string | undefined) => void navigate({ search: text ? { q: text } : {}, replace: true }), [navigate]);
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <main className="mx-auto max-w-5xl space-y-4 p-4">
      <DeskNav />
      <div className="flex flex-wrap items-center gap-4">
        <h1 className="text-xl font-semibold">Assets</h1>
        {instance.you.permissions.includes('assets:edit') && (
          <Link to="/desk/assets/new" className="ml-auto rounded bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800">
            New asset
          </Link>
        )}
      </div>
      <SearchBox label="Search by name" applied={q} apply={apply} />
      <ProblemNotice error={list.error} />
      <DeskTable headings={['Name', 'Customer', 'Last changed']} testId="asset-rows">
          {rows.map((a) => (
            <tr key={a.id} className="border-b border-slate-100">
              <td className="py-1.5">
                <Link to="/desk/assets/$assetId" params={{ assetId: a.id }} className={linkClass}>
                  {a.name}
                </Link>
              </td>
              <td className="py-1.5">{nameOf(customers.data ?? [], a.body.customerId as string | undefined, 'No customer')}</td>
              <td className="py-1.5 text-slate-700">{formatTime(a.updatedAt)}</td>
            </tr>
          ))}
        </DeskTable>
      {list.isSuccess && rows.length === 0 && <p className="text-sm">{q ? `No asset you see is named like “${q}”.` : 'No asset yet.'}</p>}
      <ShowMore list={list} />
    </main>
  );
}

export function NewAssetPage() {
  return <AssetScreen asset={null} saved={undefined} />;
}

export function AssetPage() {
  const { assetId } = assetRoute.useParams();
  const { saved } = assetRoute.useSearch();
  const asset = useQuery({ ...assetQuery(assetId), staleTime: Infinity, refetchOnWindowFocus: false });
  if (!asset.data) return <Unread error={asset.error} />;
  return <AssetScreen key={asset.data.version} asset={asset.data} saved={saved} />;
}

/** An asset's form: name, type, customer, its users and what kind of asset it is; the rest of its fields are kept. */
function AssetScreen({ asset, saved }: { asset: Asset | null; saved: string | undefined }) {
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const { data: choices } = useSuspenseQuery(choicesQuery);
  const customers = useQuery({ ...customerPickerQuery, enabled: instance.you.permissions.includes('customers:read') });
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const body = (asset?.body ?? {}) as Record<string, unknown>;
  const [draft, setDraft] = useState({
    name: (body.name as string | undefined) ?? '',
    assetTypeId: (body.assetTypeId as string | undefined) ?? '',
    customerId: (body.customerId as string | undefined) ?? '',
    serviceClass: (body.serviceClass as keyof typeof serviceClasses | undefined) ?? 'none',
    userIds: (body.userIds as string[] | undefined) ?? [],
  });
  const users = useQuery({ ...usersQuery(draft.customerId), enabled: Boolean(draft.customerId) && instance.you.permissions.includes('users:read') });
  const canEdit = instance.you.permissions.includes('assets:edit');
  const save = useMutation({
    mutationFn: () => {
      const { customerId, ...rest } = { ...body, ...draft };
      const next = { ...rest, ...(customerId ? { customerId } : {}) };
      if (!customerId) delete (next as Record<string, unknown>).customerId;
      return asset ? replaceAsset(asset.id, asset.version, next) : createAsset(next);
    },
    onSuccess: async (outcome) => {
      await navigate({ to: '/desk/assets/$assetId', params: { assetId: outcome.entity!.id }, search: { saved: outcome.changeId ? 'change' : 'yes' }, replace: Boolean(asset) });
      await queryClient.invalidateQueries({ queryKey: ['desk'] });
    },
  });
  return (
    <main className="mx-auto max-w-3xl space-y-4 p-4">
      <DeskNav />
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to="/desk/assets" className={linkClass}>
          Assets
        </Link>{' '}
        › {asset ? asset.name : 'New asset'}
      </nav>
      <h1 className="text-xl font-semibold">{asset ? asset.name : 'New asset'}</h1>
      <p className="text-sm text-slate-700">Services and business applications are configuration: saving one records a change when tracking for services is on.</p>
      <DeskForm label={asset ? `Edit ${asset.name}` : 'New asset'} onSubmit={() => canEdit && save.mutate()}>
        <fieldset disabled={!canEdit} className="space-y-3">
          <TextField label="Name" path="name" error={save.error} value={draft.name} onChange={(name) => setDraft({ ...draft, name })} />
          <Picker label="Asset type" path="assetTypeId" error={save.error} value={draft.assetTypeId} onChange={(assetTypeId) => setDraft({ ...draft, assetTypeId })} none="Choose an asset type…" items={choices.assetTypes} />
          <DeskField label="Kind" path="serviceClass" error={save.error}>
            {(props) => (
              <select {...props} className={inputClass} value={draft.serviceClass} onChange={(e) => setDraft({ ...draft, serviceClass: e.target.value as keyof typeof serviceClasses })}>
                {Object.entries(serviceClasses).map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            )}
          </DeskField>
          <Picker label="Customer" path="customerId" error={save.error} value={draft.customerId} onChange={(customerId) => setDraft({ ...draft, customerId, userIds: [] })} none="No customer" items={customers.data ?? []} />
          {draft.customerId && (users.data?.length ?? 0) > 0 && (
            <fieldset className="rounded border border-slate-200 p-3 text-sm" data-field="userIds">
              <legend className="font-medium">Users of the asset</legend>
              {users.data!.map((u) => (
                <label key={u.id} className="flex items-center gap-2">
                  <input
                    type="checkbox"
                    checked={draft.userIds.includes(u.id)}
                    onChange={(e) => setDraft({ ...draft, userIds: e.target.checked ? [...draft.userIds, u.id] : draft.userIds.filter((id) => id !== u.id) })}
                  />
                  {u.name}
                </label>
              ))}
            </fieldset>
          )}
        </fieldset>
        <ProblemNotice error={save.error} write />
        {saved && !save.isPending && !save.error && (
          <p role="status" className="text-sm text-emerald-900" data-testid="saved-note">
            {saved === 'change' ? 'Saved and recorded as a change.' : 'Saved.'}
          </p>
        )}
        {canEdit && (
          <Button type="submit" look="primary" isDisabled={save.isPending}>
            {asset ? 'Save asset' : 'Create asset'}
          </Button>
        )}
      </DeskForm>
    </main>
  );
}
