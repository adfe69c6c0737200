import { useInfiniteQuery, useSuspenseQuery } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { useEffect, useState } from 'react';
import { instanceQuery } from '../../api/queries';
import { formatTime } from '../../ui/format';
import { NotFound } from '../../ui/not-found';
import { ProblemNotice } from '../../ui/problem-notice';
import { areaName } from './config-home-page';
import { catalogTypesQuery, entitiesQuery } from './config-queries';
import { TrackingNote } from './tracking-note';
import { singular } from './words';

const route = getRouteApi('/app/config/$type');

/** The entities of one type, by name, with search (the text in the URL). */
export function TypePage() {
  const { type: key } = route.useParams();
  const { q } = route.useSearch();
  const navigate = route.useNavigate();
  const { data: types } = useSuspenseQuery(catalogTypesQuery);
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const type = types.find((t) => t.key === key);
  const list = useInfiniteQuery({ ...entitiesQuery(key, q), enabled: Boolean(type) });
  const [text, setText] = useState(q ?? '');
  useEffect(() => {
    const timer = setTimeout(() => {
      if ((q ?? '') !== text.trim()) void navigate({ search: text.trim() ? { q: text.trim() } : {}, replace: true });
    }, 300);
    return () => clearTimeout(timer);
  }, [text, q, navigate]);
  if (!type) return <NotFound />;
  const canEdit = instance.you.permissions.includes('config:edit');
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <main className="mx-auto max-w-5xl space-y-4 p-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to="/config" className="text-blue-800 underline">
          Configuration
        </Link>{' '}
        › {areaName(type.area)}
      </nav>
      <div className="flex flex-wrap items-center gap-4">
        <h1 className="text-xl font-semibold">{type.label}</h1>
        <TrackingNote type={type} />
        {canEdit && (
          <Link to="/config/$type/new" params={{ type: key }} className="ml-auto rounded bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800">
            New {singular(type.label)}
          </Link>
        )}
      </div>
      {type.description && <p className="text-sm text-slate-700">{type.description}</p>}
      <label className="flex max-w-md flex-col gap-1 text-sm">
        <span className="font-medium">Search by name</span>
        <input type="search" className="rounded border border-slate-400 px-2 py-1" value={text} onChange={(e) => setText(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && void navigate({ search: text.trim() ? { q: text.trim() } : {}, replace: true })} />
      </label>
      <ProblemNotice error={list.error} />
      <table className="w-full text-left text-sm">
        <thead className="border-b border-slate-300">
          <tr>
            <th className="py-1 font-semibold">Name</th>
            <th className="py-1 font-semibold">Last changed</th>
          </tr>
        </thead>
        <tbody data-testid="entity-rows">
          {rows.map((entity) => (
            <tr key={entity.id} className="border-b border-slate-100">
              <td className="py-1.5">
                <Link to="/config/$type/$id" params={{ type: key, id: entity.id }} className="text-blue-800 underline-offset-2 hover:underline">
                  {entity.name}
                </Link>
              </td>
              <td className="py-1.5 text-slate-700">{formatTime(entity.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.isSuccess && rows.length === 0 && <p className="text-sm">{q ? `No ${type.label.toLowerCase()} named like “${q}”.` : `No ${type.label.toLowerCase()} yet.`}</p>}
      {list.hasNextPage && (
        <button type="button" className="text-sm text-blue-800 underline" disabled={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
          {list.isFetchingNextPage ? 'Loading…' : 'Show more'}
        </button>
      )}
    </main>
  );
}
