import { useSuspenseQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { catalogTypesQuery, type CatalogType } from './config-queries';
import { ChangeSetControl } from './change-set';

const areaNames: Record<string, string> = { sla: 'SLAs', local: 'Local to each instance (never tracked, never synced)' };

export function areaName(area: string): string {
  return areaNames[area] ?? area.charAt(0).toUpperCase() + area.slice(1).replace(/-/g, ' ');
}

/** Every type of the catalog, grouped by area as the catalog groups them. */
export function ConfigHomePage() {
  const { data: types } = useSuspenseQuery(catalogTypesQuery);
  const [filter, setFilter] = useState('');
  const needle = filter.trim().toLowerCase();
  const areas = new Map<string, CatalogType[]>();
  for (const type of types) {
    if (needle && !type.label.toLowerCase().includes(needle) && !type.key.includes(needle)) continue;
    areas.set(type.area, [...(areas.get(type.area) ?? []), type]);
  }
  const tracked = types.filter((t) => t.tracking.kind !== 'local').length;
  return (
    <main className="mx-auto max-w-7xl space-y-4 p-4">
      <div className="flex flex-wrap items-end gap-4">
        <div className="flex-1">
          <h1 className="text-xl font-semibold">Configuration</h1>
          <p className="text-sm text-slate-700">
            {types.length} types: {tracked} tracked, {types.length - tracked} local to this instance.
          </p>
        </div>
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Find a type</span>
          <input type="search" className="w-64 rounded border border-slate-400 px-2 py-1" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </label>
      </div>
      <ChangeSetControl />
      {areas.size === 0 && <p>No type matches “{filter}”.</p>}
      <div className="columns-1 gap-6 md:columns-2 xl:columns-3">
        {[...areas.entries()].map(([area, list]) => (
          <section key={area} aria-labelledby={`area-${area}`} className="mb-6 break-inside-avoid">
            <h2 id={`area-${area}`} className="mb-1 text-base font-semibold">
              {areaName(area)}
            </h2>
            <ul className="space-y-0.5 text-sm">
              {list.map((type) => (
                <li key={type.key}>
                  <Link to="/config/$type" params={{ type: type.key }} className="text-blue-800 underline-offset-2 hover:underline">
                    {type.label}
                  </Link>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
    </main>
  );
}
