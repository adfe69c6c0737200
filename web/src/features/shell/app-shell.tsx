import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { Link, Outlet, useNavigate } from '@tanstack/react-router';
import { instanceQuery, signOut } from '../../api/queries';
import { Button } from '../../ui/button';
import { deskHome, mayUseDesk } from '../desk/desk-nav';
import { LockBanner } from './lock-banner';

const navLink = 'rounded px-2 py-1 text-slate-700 hover:bg-slate-100 [&.active]:bg-slate-200 [&.active]:font-semibold';

/** The signed-in screens: navigation, who is signed in, and the banners. */
export function AppShell() {
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const can = (permission: string) => instance.you.permissions.includes(permission);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const out = useMutation({
    mutationFn: signOut,
    onSuccess: async () => {
      queryClient.clear();
      await navigate({ to: '/sign-in' });
    },
  });
  return (
    <>
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-7xl items-center gap-4 px-4 py-2">
          <nav aria-label="Console" className="flex gap-1 text-sm">
            {/* Only the screens the signed-in agent's rights cover; the instance refuses the rest anyway. */}
            {can('config:read') && (
              <>
                <Link to="/changes" className={navLink} activeOptions={{ includeSearch: false }}>
                  Changes
                </Link>
                <Link to="/instances" className={navLink}>
                  Instances
                </Link>
                <Link to="/export-import" className={navLink}>
                  Export and import
                </Link>
                <Link to="/config" className={navLink}>
                  Configuration
                </Link>
                <Link to="/requests" className={navLink} activeOptions={{ includeSearch: false }}>
                  Requests
                </Link>
              </>
            )}
            {mayUseDesk(instance.you.permissions) && (
              <Link to={deskHome(instance.you.permissions)} className={navLink} activeOptions={{ exact: false }} data-nav="desk">
                Desk
              </Link>
            )}
            {can('access:manage') && (
              <Link to="/access" className={navLink}>
                Access
              </Link>
            )}
            {can('config:edit') && (
              <Link to="/settings" className={navLink}>
                Settings
              </Link>
            )}
            {can('audit:read') && (
              <Link to="/audit" className={navLink} activeOptions={{ includeSearch: false }}>
                Audit log
              </Link>
            )}
            <Link to="/me" className={navLink}>
              Your access
            </Link>
          </nav>
          <div className="ml-auto flex items-center gap-3 text-sm">
            <span>
              Signed in as <strong>{instance.you.name}</strong>
              {instance.you.isAdministrator ? ' (administrator)' : ''}
            </span>
            <Button look="secondary" onPress={() => out.mutate()} isDisabled={out.isPending}>
              Sign out
            </Button>
          </div>
        </div>
      </header>
      <LockBanner />
      <Outlet />
    </>
  );
}
