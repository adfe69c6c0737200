import type { QueryClient } from '@tanstack/react-query';
import { createRootRouteWithContext, createRoute, createRouter, lazyRouteComponent, redirect } from '@tanstack/react-router';
import { isApiError } from './api/problem';
import { changeQuery, changesQuery, identityQuery, instanceQuery } from './api/queries';
import { requires } from './features/access/can';
import { parseChangeSearch } from './features/changes/change-search';
import { catalogTypesQuery, entitiesQuery, entityQuery } from './features/config/config-queries';
import { deskHome, mayUseDesk } from './features/desk/desk-nav';
import { parseTicketSearch } from './features/desk/ticket-search';
import { parseRequestSearch } from './features/promotion/promotion-queries';
import { parseAuditSearch } from './features/settings/audit-search';
import { AppShell } from './features/shell/app-shell';
import { RootLayout } from './features/shell/root-layout';
import { NotFound } from './ui/not-found';
import { RouteError } from './ui/route-error';

interface RouterContext {
  queryClient: QueryClient;
}

const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: RootLayout,
  notFoundComponent: NotFound,
  beforeLoad: ({ context }) => context.queryClient.ensureQueryData(identityQuery),
});

/** A path the console may return to after signing in: on this instance, never another origin. */
function safeRedirect(value: unknown): string | undefined {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : undefined;
}

export const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/sign-in',
  validateSearch: (search: Record<string, unknown>): { redirect?: string; expired?: boolean; problem?: string } => ({
    ...(safeRedirect(search.redirect) ? { redirect: safeRedirect(search.redirect) } : {}),
    ...(search.expired === true || search.expired === 'true' ? { expired: true } : {}),
    ...(typeof search.problem === 'string' ? { problem: search.problem.slice(0, 60) } : {}),
  }),
  component: lazyRouteComponent(() => import('./features/session/sign-in-page'), 'SignInPage'),
});

/** Every screen behind sign-in: the shell with the instance's identity and banners. */
export const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: 'app',
  component: AppShell,
  errorComponent: RouteError,
  beforeLoad: async ({ context, location }) => {
    try {
      await context.queryClient.ensureQueryData(instanceQuery);
    } catch (error) {
      if (isApiError(error) && error.status === 401) throw redirect({ to: '/sign-in', search: { redirect: location.href } });
      throw error;
    }
  },
});

const indexRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/',
  // The change list for whoever reads configuration, else the desk, else what they may do.
  beforeLoad: async ({ context }) => {
    const { permissions } = (await context.queryClient.ensureQueryData(instanceQuery)).you;
    if (permissions.includes('config:read')) throw redirect({ to: '/changes' });
    if (!mayUseDesk(permissions)) throw redirect({ to: '/me' });
    throw redirect({ to: deskHome(permissions) });
  },
});

export const changesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/changes',
  beforeLoad: requires('config:read'),
  validateSearch: parseChangeSearch,
  loaderDeps: ({ search }) => search,
  // The first page is asked for while the page's code loads.
  loader: ({ context, deps }) => void context.queryClient.prefetchInfiniteQuery(changesQuery(deps)),
  component: lazyRouteComponent(() => import('./features/changes/change-list-page'), 'ChangeListPage'),
});

export const changeRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/changes/$changeId',
  beforeLoad: requires('config:read'),
  // The change (up to megabytes) is fetched while the page's code loads, not after.
  loader: ({ context, params }) => void context.queryClient.prefetchQuery(changeQuery(params.changeId)),
  component: lazyRouteComponent(() => import('./features/changes/change-detail-page'), 'ChangeDetailPage'),
});

export const instancesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/instances',
  beforeLoad: requires('config:read'),
  component: lazyRouteComponent(() => import('./features/sync/pipeline-page'), 'PipelinePage'),
});

export const instanceRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/instances/$name',
  beforeLoad: requires('config:read'),
  component: lazyRouteComponent(() => import('./features/sync/instance-page'), 'InstancePage'),
});

export const exportImportRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/export-import',
  beforeLoad: requires('config:read'),
  component: lazyRouteComponent(() => import('./features/sync/export-import-page'), 'ExportImportPage'),
});

export const requestsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/requests',
  beforeLoad: requires('config:read'),
  validateSearch: parseRequestSearch,
  component: lazyRouteComponent(() => import('./features/promotion/requests-page'), 'RequestsPage'),
});

export const requestRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/requests/$id',
  beforeLoad: requires('config:read'),
  component: lazyRouteComponent(() => import('./features/promotion/request-page'), 'RequestPage'),
});

export const settingsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/settings',
  beforeLoad: requires('config:edit'),
  component: lazyRouteComponent(() => import('./features/settings/settings-page'), 'SettingsPage'),
});

export const auditRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/audit',
  beforeLoad: requires('audit:read'),
  validateSearch: parseAuditSearch,
  component: lazyRouteComponent(() => import('./features/settings/audit-page'), 'AuditPage'),
});

export const configRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/config',
  beforeLoad: requires('config:read'),
  component: lazyRouteComponent(() => import('./features/config/config-home-page'), 'ConfigHomePage'),
});

export const configTypeRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/config/$type',
  beforeLoad: requires('config:read'),
  validateSearch: (search: Record<string, unknown>): { q?: string } => (typeof search.q === 'string' && search.q.trim() ? { q: search.q.slice(0, 200) } : {}),
  loaderDeps: ({ search }) => ({ q: search.q }),
  // The catalog and the first page together, while the page's code loads: no request waits for another, and the page
  // renders once, with its rows, instead of suspending on the catalog.
  loader: ({ context, params, deps }) =>
    Promise.all([context.queryClient.ensureQueryData(catalogTypesQuery), context.queryClient.prefetchInfiniteQuery(entitiesQuery(params.type, deps.q))]),
  component: lazyRouteComponent(() => import('./features/config/type-page'), 'TypePage'),
});

export const configNewRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/config/$type/new',
  beforeLoad: requires('config:edit'),
  validateSearch: (search: Record<string, unknown>): { fields?: 'all' } => (search.fields === 'all' ? { fields: 'all' } : {}),
  loader: ({ context }) => context.queryClient.ensureQueryData(catalogTypesQuery),
  component: lazyRouteComponent(() => import('./features/config/entity-page'), 'NewEntityPage'),
});

export const configEntityRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/config/$type/$id',
  beforeLoad: requires('config:read'),
  validateSearch: (search: Record<string, unknown>): { saved?: string; changeSet?: string; fields?: 'all' } => ({
    ...(typeof search.saved === 'string' ? { saved: search.saved.slice(0, 40) } : {}),
    ...(typeof search.changeSet === 'string' ? { changeSet: search.changeSet.slice(0, 100) } : {}),
    ...(search.fields === 'all' ? { fields: 'all' as const } : {}),
  }),
  loader: ({ context, params }) => {
    void context.queryClient.prefetchQuery({ ...entityQuery(params.type, params.id), staleTime: Infinity });
    return context.queryClient.ensureQueryData(catalogTypesQuery);
  },
  component: lazyRouteComponent(() => import('./features/config/entity-page'), 'EntityPage'),
});

const textSearch = (search: Record<string, unknown>): { q?: string } => (typeof search.q === 'string' && search.q.trim() ? { q: search.q.slice(0, 200) } : {});

export const deskTicketsRoute = createRoute({ getParentRoute: () => appRoute, path: '/desk/tickets', validateSearch: parseTicketSearch, component: lazyRouteComponent(() => import('./features/desk/tickets-page'), 'TicketsPage') });
export const deskNewTicketRoute = createRoute({ getParentRoute: () => appRoute, path: '/desk/tickets/new', component: lazyRouteComponent(() => import('./features/desk/new-ticket-page'), 'NewTicketPage') });
export const deskTicketRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/desk/tickets/$ticketId',
  validateSearch: (search: Record<string, unknown>): { logged?: string } => (typeof search.logged === 'string' ? { logged: search.logged.slice(0, 2000) } : {}),
  component: lazyRouteComponent(() => import('./features/desk/ticket-page'), 'TicketPage'),
});
export const deskCustomersRoute = createRoute({ getParentRoute: () => appRoute, path: '/desk/customers', validateSearch: textSearch, component: lazyRouteComponent(() => import('./features/desk/customers-page'), 'CustomersPage') });
export const deskCustomerRoute = createRoute({ getParentRoute: () => appRoute, path: '/desk/customers/$customerId', component: lazyRouteComponent(() => import('./features/desk/customers-page'), 'CustomerPage') });
export const deskAssetsRoute = createRoute({ getParentRoute: () => appRoute, path: '/desk/assets', validateSearch: textSearch, component: lazyRouteComponent(() => import('./features/desk/assets-page'), 'AssetsPage') });
export const deskNewAssetRoute = createRoute({ getParentRoute: () => appRoute, path: '/desk/assets/new', component: lazyRouteComponent(() => import('./features/desk/assets-page'), 'NewAssetPage') });
export const deskAssetRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/desk/assets/$assetId',
  validateSearch: (search: Record<string, unknown>): { saved?: string } => (typeof search.saved === 'string' ? { saved: search.saved.slice(0, 10) } : {}),
  component: lazyRouteComponent(() => import('./features/desk/assets-page'), 'AssetPage'),
});
const deskRoutes = [deskTicketsRoute, deskNewTicketRoute, deskTicketRoute, deskCustomersRoute, deskCustomerRoute, deskAssetsRoute, deskNewAssetRoute, deskAssetRoute];

export const ownRightsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/me',
  component: lazyRouteComponent(() => import('./features/access/own-rights-page'), 'OwnRightsPage'),
});
const accessIndexRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/access',
  beforeLoad: async (match) => {
    await requires('access:manage')(match);
    throw redirect({ to: '/access/agents' });
  },
});
export const agentsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/access/agents',
  beforeLoad: requires('access:manage'),
  validateSearch: textSearch,
  component: lazyRouteComponent(() => import('./features/access/agents-page'), 'AgentsPage'),
});
export const newAgentRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/access/agents/new',
  beforeLoad: requires('access:manage'),
  component: lazyRouteComponent(() => import('./features/access/agent-page'), 'NewAgentPage'),
});
export const agentRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/access/agents/$id',
  beforeLoad: requires('access:manage'),
  component: lazyRouteComponent(() => import('./features/access/agent-page'), 'AgentPage'),
});
export const applicationsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/access/applications',
  beforeLoad: requires('access:manage'),
  validateSearch: textSearch,
  component: lazyRouteComponent(() => import('./features/access/applications-page'), 'ApplicationsPage'),
});
export const newApplicationRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/access/applications/new',
  beforeLoad: requires('access:manage'),
  component: lazyRouteComponent(() => import('./features/access/application-page'), 'NewApplicationPage'),
});
export const applicationRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/access/applications/$id',
  beforeLoad: requires('access:manage'),
  component: lazyRouteComponent(() => import('./features/access/application-page'), 'ApplicationPage'),
});
const accessRoutes = [ownRightsRoute, accessIndexRoute, agentsRoute, newAgentRoute, agentRoute, applicationsRoute, newApplicationRoute, applicationRoute];

const routeTree = rootRoute.addChildren([
  signInRoute,
  appRoute.addChildren([indexRoute, changesRoute, changeRoute, instancesRoute, instanceRoute, exportImportRoute, requestsRoute, requestRoute, settingsRoute, auditRoute, configRoute, configTypeRoute, configNewRoute, configEntityRoute, ...deskRoutes, ...accessRoutes]),
]);

export function createConsoleRouter(queryClient: QueryClient) {
  return createRouter({ routeTree, context: { queryClient }, defaultPreload: 'intent', scrollRestoration: true, defaultErrorComponent: RouteError });
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof createConsoleRouter>;
  }
}
