import { useSuspenseQuery } from '@tanstack/react-query';
import { Outlet } from '@tanstack/react-router';
import { identityQuery } from '../../api/queries';

/** The instance's name, kind and version, on every screen; production in red, in words. */
export function InstanceBar() {
  const { data: identity } = useSuspenseQuery(identityQuery);
  const production = identity.kind === 'production';
  return (
    <div className={production ? 'bg-prod text-white' : 'bg-slate-800 text-white'} data-testid="instance-bar">
      <div className="mx-auto flex max-w-7xl items-center gap-3 px-4 py-1.5 text-sm">
        <span className="font-semibold">Shiplog</span>
        <span aria-hidden="true">·</span>
        <span>
          Instance <strong>{identity.name}</strong>
        </span>
        <span className={production ? 'rounded bg-white px-2 font-bold tracking-wide text-prod uppercase' : 'rounded bg-slate-600 px-2'}>
          {production ? 'Production — changes here affect live service' : identity.kind}
        </span>
        <span className="ml-auto text-slate-200">version {identity.version}</span>
      </div>
    </div>
  );
}

export function RootLayout() {
  return (
    <div className="min-h-screen">
      <InstanceBar />
      <Outlet />
    </div>
  );
}
