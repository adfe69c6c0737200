import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permissions, type Permission } from '../access/permissions.js';
import { newId } from '../shared/ids.js';
import { defaultSettings } from '../shared/settings.js';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { bearer, createAgent, createApplication, createTeam, issueAccessToken } from '../../test/support/principals.js';
import type { RouteEntry, RoutePermission } from './plugins/auth.js';

const principalNames = ['administrator', 'readOnly', 'noConfig', 'coManaged', 'apiOnly'] as const;
type PrincipalName = (typeof principalNames)[number];
type Outcome = 'allowed' | 'forbidden' | 'public';
const Y = 'allowed';
const N = 'forbidden';

interface Row {
  permission: RoutePermission;
  /** One per principal, in the order of principalNames. */
  outcomes: Outcome[];
}
const row = (permission: RoutePermission, ...outcomes: Outcome[]): Row => ({ permission, outcomes: permission === 'public' ? principalNames.map(() => 'public') : outcomes });

// Written out by hand, so a wrong declaration beside a route fails here.
// Outcome columns: administrator, read-only, no-config, co-managed, api-only.
const existingRoutes: Record<string, Row> = {
  'GET /openapi.json': row('public'),
  'GET /healthz': row('public'),
  'GET /readyz': row('public'),
  'POST /auth/token': row('public'),
  'POST /v1/session': row('public'),
  'GET /auth/sso': row('public'),
  'GET /auth/sso/:id/start': row('public'),
  'GET /auth/sso/callback': row('public'),
  'GET /v1/session': row('authenticated', Y, Y, Y, Y, Y),
  'DELETE /v1/session': row('authenticated', Y, Y, Y, Y, Y),
  'GET /v1/instance': row('authenticated', Y, Y, Y, Y, Y),
  'GET /v1/settings': row('config:edit', Y, N, N, N, N),
  'PATCH /v1/settings': row('config:edit', Y, N, N, N, N),
  'GET /v1/catalog': row('config:read', Y, Y, N, N, Y),
  'GET /v1/catalog/:type': row('config:read', Y, Y, N, N, Y),
  'GET /v1/config/:type': row('config:read', Y, Y, N, N, Y),
  'POST /v1/config/:type': row('config:edit', Y, N, N, N, N),
  'GET /v1/config/:type/:id': row('config:read', Y, Y, N, N, Y),
  'PUT /v1/config/:type/:id': row('config:edit', Y, N, N, N, N),
  'DELETE /v1/config/:type/:id': row('config:edit', Y, N, N, N, N),
  'GET /v1/changes': row('config:read', Y, Y, N, N, Y),
  'GET /v1/changes/verify': row('config:read', Y, Y, N, N, Y),
  'GET /v1/changes/:id': row('config:read', Y, Y, N, N, Y),
  'POST /v1/changes/:id/rollback-before': row('changes:rollback', Y, N, N, N, N),
  'GET /v1/agents': row('access:manage', Y, N, N, N, N),
  'POST /v1/agents': row('access:manage', Y, N, N, N, N),
  'GET /v1/agents/me': row('authenticated', Y, Y, Y, Y, Y),
  'GET /v1/agents/:id': row('access:manage', Y, N, N, N, N),
  'GET /v1/agents/me/rights': row('authenticated', Y, Y, Y, Y, Y),
  'GET /v1/agents/:id/rights': row('access:manage', Y, N, N, N, N),
  'PATCH /v1/agents/:id': row('access:manage', Y, N, N, N, N),
  'DELETE /v1/agents/:id': row('access:manage', Y, N, N, N, N),
  'GET /v1/applications': row('access:manage', Y, N, N, N, N),
  'POST /v1/applications': row('access:manage', Y, N, N, N, N),
  'GET /v1/applications/:id': row('access:manage', Y, N, N, N, N),
  'PATCH /v1/applications/:id': row('access:manage', Y, N, N, N, N),
  'DELETE /v1/applications/:id': row('access:manage', Y, N, N, N, N),
  'POST /v1/applications/:id/rotate-secret': row('access:manage', Y, N, N, N, N),
  'GET /v1/audit': row('audit:read', Y, N, N, N, N),
  'GET /v1/customers': row('customers:read', Y, Y, N, N, N),
  'POST /v1/customers': row('customers:edit', Y, N, N, N, N),
  'GET /v1/customers/:id': row('customers:read', Y, Y, N, N, N),
  'PATCH /v1/customers/:id': row('customers:edit', Y, N, N, N, N),
  'DELETE /v1/customers/:id': row('customers:edit', Y, N, N, N, N),
  'GET /v1/users': row('users:read', Y, Y, N, N, N),
  'POST /v1/users': row('users:edit', Y, N, N, N, N),
  'GET /v1/users/:id': row('users:read', Y, Y, N, N, N),
  'PATCH /v1/users/:id': row('users:edit', Y, N, N, N, N),
  'DELETE /v1/users/:id': row('users:edit', Y, N, N, N, N),
  'GET /v1/tickets': row('tickets:read', Y, Y, Y, Y, Y),
  'GET /v1/tickets/export': row('tickets:read', Y, Y, Y, Y, Y),
  'POST /v1/tickets': row('tickets:edit', Y, N, Y, Y, N),
  'GET /v1/tickets/:id': row('tickets:read', Y, Y, Y, Y, Y),
  'PATCH /v1/tickets/:id': row('tickets:edit', Y, N, Y, Y, N),
  'GET /v1/tickets/:id/actions': row('tickets:read', Y, Y, Y, Y, Y),
  'POST /v1/tickets/:id/actions': row('tickets:edit', Y, N, Y, Y, N),
  'GET /v1/ticket-lists': row('tickets:read', Y, Y, Y, Y, Y),
  'POST /v1/ticket-lists': row('tickets:edit', Y, N, Y, Y, N),
  'GET /v1/ticket-lists/:id': row('tickets:read', Y, Y, Y, Y, Y),
  'PATCH /v1/ticket-lists/:id': row('tickets:edit', Y, N, Y, Y, N),
  'DELETE /v1/ticket-lists/:id': row('tickets:edit', Y, N, Y, Y, N),
  'GET /v1/ticket-lists/:id/tickets': row('tickets:read', Y, Y, Y, Y, Y),
  'GET /v1/desk/choices': row('authenticated', Y, Y, Y, Y, Y),
  'GET /v1/view-lists': row('tickets:read', Y, Y, Y, Y, Y),
  'GET /v1/view-lists/:id/tickets': row('tickets:read', Y, Y, Y, Y, Y),
  'GET /v1/mailboxes/processing': row('config:read', Y, Y, N, N, Y),
  'POST /v1/mailboxes/check': row('config:edit', Y, N, N, N, N),
  'GET /v1/mailboxes/messages': row('config:read', Y, Y, N, N, Y),
  'GET /v1/webhooks/deliveries': row('config:read', Y, Y, N, N, Y),
  'POST /v1/webhooks/deliveries/:id/retry': row('config:edit', Y, N, N, N, N),
  'POST /v1/config/:type/:id/test-delivery': row('config:edit', Y, N, N, N, N),
  'GET /v1/assets': row('assets:read', Y, Y, N, N, N),
  'POST /v1/assets': row('assets:edit', Y, N, N, N, N),
  'GET /v1/assets/:id': row('assets:read', Y, Y, N, N, N),
  'PUT /v1/assets/:id': row('assets:edit', Y, N, N, N, N),
  'DELETE /v1/assets/:id': row('assets:edit', Y, N, N, N, N),
  // The Halo dialect: each route declares the permission of the /v1 route it translates.
  'GET /api/Tickets': row('tickets:read', Y, Y, Y, Y, Y),
  'GET /api/Tickets/:id': row('tickets:read', Y, Y, Y, Y, Y),
  'POST /api/Tickets': row('tickets:edit', Y, N, Y, Y, N),
  'GET /api/Actions': row('tickets:read', Y, Y, Y, Y, Y),
  'GET /api/Actions/:id': row('tickets:read', Y, Y, Y, Y, Y),
  'POST /api/Actions': row('tickets:edit', Y, N, Y, Y, N),
  'GET /api/Client': row('customers:read', Y, Y, N, N, N),
  'GET /api/Client/:id': row('customers:read', Y, Y, N, N, N),
  'POST /api/Client': row('customers:edit', Y, N, N, N, N),
  'DELETE /api/Client/:id': row('customers:edit', Y, N, N, N, N),
  'GET /api/Users': row('users:read', Y, Y, N, N, N),
  'GET /api/Users/:id': row('users:read', Y, Y, N, N, N),
  'POST /api/Users': row('users:edit', Y, N, N, N, N),
  'DELETE /api/Users/:id': row('users:edit', Y, N, N, N, N),
  'GET /api/Asset': row('assets:read', Y, Y, N, N, N),
  'GET /api/Asset/:id': row('assets:read', Y, Y, N, N, N),
  'POST /api/Asset': row('assets:edit', Y, N, N, N, N),
  'DELETE /api/Asset/:id': row('assets:edit', Y, N, N, N, N),
  'GET /api/AssetType': row('config:read', Y, Y, N, N, Y),
  'GET /api/AssetType/:id': row('config:read', Y, Y, N, N, Y),
  'POST /api/AssetType': row('config:edit', Y, N, N, N, N),
  'DELETE /api/AssetType/:id': row('config:edit', Y, N, N, N, N),
  'GET /api/Agent/me': row('authenticated', Y, Y, Y, Y, Y),
  'GET /api/Agent': row('access:manage', Y, N, N, N, N),
  'GET /api/Agent/:id': row('access:manage', Y, N, N, N, N),
  'POST /api/Agent': row('access:manage', Y, N, N, N, N),
  'DELETE /api/Agent/:id': row('access:manage', Y, N, N, N, N),
  'GET /api/Team': row('config:read', Y, Y, N, N, Y),
  'GET /api/Team/:id': row('config:read', Y, Y, N, N, Y),
  'POST /api/Team': row('config:edit', Y, N, N, N, N),
  'DELETE /api/Team/:id': row('config:edit', Y, N, N, N, N),
  'GET /api/Roles': row('config:read', Y, Y, N, N, Y),
  'GET /api/Roles/:id': row('config:read', Y, Y, N, N, Y),
  'POST /api/Roles': row('config:edit', Y, N, N, N, N),
  'DELETE /api/Roles/:id': row('config:edit', Y, N, N, N, N),
  'GET /api/Status': row('config:read', Y, Y, N, N, Y),
  'GET /api/Status/:id': row('config:read', Y, Y, N, N, Y),
  'POST /api/Status': row('config:edit', Y, N, N, N, N),
  'DELETE /api/Status/:id': row('config:edit', Y, N, N, N, N),
  'GET /api/TicketType': row('config:read', Y, Y, N, N, Y),
  'GET /api/TicketType/:id': row('config:read', Y, Y, N, N, Y),
  'POST /api/TicketType': row('config:edit', Y, N, N, N, N),
  'DELETE /api/TicketType/:id': row('config:edit', Y, N, N, N, N),
  'GET /api/SLA': row('config:read', Y, Y, N, N, Y),
  'GET /api/SLA/:id': row('config:read', Y, Y, N, N, Y),
  'POST /api/SLA': row('config:edit', Y, N, N, N, N),
  'DELETE /api/SLA/:id': row('config:edit', Y, N, N, N, N),
  'GET /api/Priority': row('config:read', Y, Y, N, N, Y),
  'GET /api/Priority/:id': row('config:read', Y, Y, N, N, Y),
  'POST /api/Priority': row('config:edit', Y, N, N, N, N),
  'DELETE /api/Priority/:id': row('config:edit', Y, N, N, N, N),
  'GET /api/Category': row('config:read', Y, Y, N, N, Y),
  'GET /api/Category/:id': row('config:read', Y, Y, N, N, Y),
  'POST /api/Category': row('config:edit', Y, N, N, N, N),
  'DELETE /api/Category/:id': row('config:edit', Y, N, N, N, N),
  'GET /api/ConfigCommit': row('config:read', Y, Y, N, N, Y),
  'GET /api/ConfigCommit/:id': row('config:read', Y, Y, N, N, Y),
  'POST /api/ConfigCommit': row('config:read', Y, Y, N, N, Y),
  'GET /api/Instance': row('config:read', Y, Y, N, N, Y),
  'GET /api/Instance/:id': row('config:read', Y, Y, N, N, Y),
  'POST /api/Instance': row('config:push', Y, N, N, N, N),
  'GET /api/ConnectedInstance': row('config:read', Y, Y, N, N, Y),
  'GET /api/ConnectedInstance/:id': row('config:read', Y, Y, N, N, Y),
  'POST /api/ConnectedInstance': row('config:push', Y, N, N, N, N),
  'DELETE /api/ConnectedInstance/:id': row('config:push', Y, N, N, N, N),
  'GET /v1/promotion-policy': row('config:read', Y, Y, N, N, Y),
  'PATCH /v1/promotion-policy': row('access:manage', Y, N, N, N, N),
  'GET /v1/promotion-requests': row('config:read', Y, Y, N, N, Y),
  'GET /v1/promotion-requests/:id': row('config:read', Y, Y, N, N, Y),
  'GET /v1/promotion-requests/:id/diffs': row('config:read', Y, Y, N, N, Y),
  'POST /v1/promotion-requests/:id/approve': row('promotions:approve', Y, N, N, N, N),
  'POST /v1/promotion-requests/:id/reject': row('promotions:approve', Y, N, N, N, N),
  'POST /v1/promotion-requests/:id/apply': row('promotions:approve', Y, N, N, N, N),
  'POST /v1/promotion-requests/:id/schedule': row('promotions:approve', Y, N, N, N, N),
  'POST /v1/promotion-requests/:id/cancel': row('config:push', Y, N, N, N, N),
  'POST /v1/promotion-requests/:id/replan': row('config:push', Y, N, N, N, N),
};

// Routes added later under these prefixes are access management: the Administrator's alone.
const pinnedPrefixes: { pattern: RegExp; row: Row }[] = [
  { pattern: /^\/v1\/(agents|applications)(\/|$)/, row: row('access:manage', Y, N, N, N, N) },
  { pattern: /^\/v1\/audit(\/|$)/, row: row('audit:read', Y, N, N, N, N) },
];

function writtenOut(route: RouteEntry): Row | undefined {
  const key = `${route.method} ${route.url}`;
  return existingRoutes[key] ?? pinnedPrefixes.find((p) => p.pattern.test(route.url))?.row;
}

/** Each principal's effective rights, written out from its fixtures rather than read back from the server. */
const effective: Record<PrincipalName, ReadonlySet<Permission>> = {
  administrator: new Set(permissions),
  readOnly: new Set(['config:read', 'tickets:read', 'customers:read', 'users:read', 'assets:read']),
  noConfig: new Set(['tickets:read', 'tickets:edit']),
  coManaged: new Set(['tickets:read', 'tickets:edit']),
  // The application grants config:edit and customers:read, the agent tickets:edit: only the overlap remains.
  apiOnly: new Set(['config:read', 'tickets:read']),
};

function expectedOutcome(permission: RoutePermission, principal: PrincipalName): Outcome {
  if (permission === 'public') return 'public';
  if (permission === 'authenticated') return 'allowed';
  return effective[principal].has(permission) ? 'allowed' : 'forbidden';
}

interface Problem {
  code?: string;
  error?: string;
}
function bodyOf(res: LightMyRequestResponse): Problem {
  try {
    return res.json<Problem>();
  } catch {
    return {};
  }
}

/**
 * A public route is never refused for who is calling; only a refused sign-in (an OAuth client-authentication failure,
 * or a single sign-on that did not succeed) may be 401.
 */
function publicAnswerProblem(res: LightMyRequestResponse): string | null {
  const body = bodyOf(res);
  if (res.statusCode === 403) return 'a public route answered 403';
  if (res.statusCode === 401 && body.error !== 'invalid_client' && body.code !== 'SIGN_IN_REFUSED') return 'a public route answered 401';
  return null;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
// Bodies that would change something if the request were let through.
const bodies: Record<string, unknown> = { 'PATCH /v1/settings': { skipDiffCheck: true } };

describe.each(engines)('permission matrix on %s', (engine) => {
  let t: TestApp;
  const cast = {} as Record<PrincipalName, { headers: Record<string, string>; actorId: string }>;
  let targets: { teamId: string; changeId: string; agentId: string; applicationId: string };
  let requestCount = 0;

  beforeAll(async () => {
    t = await createTestApp(engine);
    const customerId = newId();
    // Configuration names only records this instance has: the co-managed customer exists.
    await t.db.write((stores) => stores.desk.insertCustomer({ id: customerId, name: 'Partner customer', thirdPartyId: null, createdAt: 0, updatedAt: 0 }));
    const coManagedTeam = await createTeam(t, { name: 'Partner desk', isCoManaged: true });

    const readOnly = await createAgent(t, {
      name: 'Read-only agent',
      roles: [{ name: 'Read only', configAccess: 'read', ticketAccess: 'read', customerAccess: 'read', userAccess: 'read', assetAccess: 'read' }],
    });
    const noConfig = await createAgent(t, { name: 'Desk agent', roles: [{ name: 'Desk', configAccess: 'none', ticketAccess: 'modify' }] });
    const coManaged = await createAgent(t, {
      name: 'Co-managed agent',
      clientRestrictions: { allowAllCustomers: false, customerIds: [customerId] },
      coManagedCustomerId: customerId,
      roles: [
        {
          name: 'Co-managed partner',
          configAccess: 'none',
          ticketAccess: 'modify',
          customerRestrictions: { allowAllCustomers: false, customerIds: [customerId] },
          teamMemberships: [{ teamId: coManagedTeam, access: 'modify' }],
        },
      ],
    });
    const apiAgent = await createAgent(t, { name: 'Integration agent', apiOnly: true, roles: [{ name: 'Integration', configAccess: 'read', ticketAccess: 'modify' }] });
    const { application } = await createApplication(t, { agentId: apiAgent.agent.id, name: 'Partial integration', permissions: ['config:read', 'config:edit', 'tickets:read', 'customers:read'] });
    const accessToken = await issueAccessToken(t, application);

    cast.administrator = { headers: t.auth, actorId: t.ctx.actor.id };
    cast.readOnly = { headers: readOnly.headers, actorId: readOnly.agent.id };
    cast.noConfig = { headers: noConfig.headers, actorId: noConfig.agent.id };
    cast.coManaged = { headers: coManaged.headers, actorId: coManaged.agent.id };
    cast.apiOnly = { headers: bearer(accessToken), actorId: application.id };

    // Targets an allowed write may change or delete, kept apart from the principals' own records.
    const victim = await createAgent(t, { name: 'Matrix target agent' });
    const victimApp = await createApplication(t, { agentId: victim.agent.id, name: 'Matrix target application', permissions: ['config:read'] });
    // Created last, so rolling back before its change never reverts the principals' roles.
    const probe = await t.services.config.create(t.ctx, 'teams', { name: 'Matrix probe team' });
    targets = { teamId: probe.entity!.id, changeId: probe.changeId!, agentId: victim.agent.id, applicationId: victimApp.application.id };
  });
  afterAll(async () => {
    if (t) await t.services.settings.update(t.ctx, defaultSettings, { isAdministrator: true });
    await t?.close();
  });

  function param(name: string, url: string): string {
    if (name === 'type') return 'teams';
    if (name === 'name') return 'matrix-probe';
    if (name === 'id' && url.startsWith('/v1/config/')) return targets.teamId;
    if (name === 'id' && url.startsWith('/v1/changes/')) return targets.changeId;
    if (name === 'id' && url.startsWith('/v1/agents/')) return targets.agentId;
    if (name === 'id' && url.startsWith('/v1/applications/')) return targets.applicationId;
    // Halo's integer ids: one no record has, so an allowed call reaches its handler and answers 404.
    if (name === 'id' && url.startsWith('/api/')) return '999999';
    return newId();
  }

  async function send(route: RouteEntry, headers: Record<string, string>): Promise<{ res: LightMyRequestResponse; requestId: string }> {
    requestCount += 1;
    const requestId = `matrix-${engine}-${requestCount}`;
    const url = route.url.replace(/:(\w+)/g, (_, name: string) => param(name, route.url));
    const key = `${route.method} ${route.url}`;
    const payload = SAFE.has(route.method) || route.method === 'DELETE' ? undefined : (bodies[key] ?? { name: 'Matrix probe' });
    const options: InjectOptions = {
      method: route.method as NonNullable<InjectOptions['method']>,
      url,
      headers: { ...headers, 'x-request-id': requestId },
      ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }),
    };
    return { res: await t.app.inject(options), requestId };
  }

  /** What a refused write must leave alone: the change log, the settings, and the records it could touch. */
  function snapshot(): Promise<unknown> {
    return t.db.read(async (stores) => ({
      head: await stores.changes.head(),
      settings: await stores.settings.all(),
      agents: await stores.agents.count(),
      agent: await stores.agents.find(targets.agentId),
      application: await stores.applications.find(targets.applicationId),
      team: await stores.entities.find(targets.teamId),
      customers: await stores.desk.listCustomers({ limit: 10_000 }),
      users: await stores.desk.listUsers({ limit: 10_000 }),
      tickets: await stores.desk.listTickets({ visibility: { kind: 'all' }, limit: 10_000 }),
    }));
  }

  it('declares a permission on every route, and the declarations match the written-out table', () => {
    const keys = t.routeTable.map((r) => `${r.method} ${r.url}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of Object.keys(existingRoutes)) expect(keys, `${key} is in the table but not in the route table`).toContain(key);
    for (const key of keys.filter((k) => k.split(' ')[1]!.startsWith('/api/'))) expect(existingRoutes[key], `${key} is not written out`).toBeDefined();
    for (const route of t.routeTable) {
      const key = `${route.method} ${route.url}`;
      expect(['public', 'authenticated', ...permissions], key).toContain(route.permission);
      const table = writtenOut(route);
      if (!table) continue;
      expect(route.permission, `${key} declares the wrong permission`).toBe(table.permission);
      expect(
        principalNames.map((name) => expectedOutcome(route.permission, name)),
        `${key}: outcomes for ${principalNames.join(', ')}`,
      ).toEqual(table.outcomes);
    }
  });

  it('gives each principal exactly its effective permissions', async () => {
    for (const name of principalNames) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/instance', headers: cast[name].headers });
      expect(res.statusCode, `${name}: ${res.body}`).toBe(200);
      const you = res.json<{ you: { permissions: string[]; isAdministrator: boolean } }>().you;
      expect(you.permissions, name).toEqual([...effective[name]].sort());
      expect(you.isAdministrator, name).toBe(name === 'administrator');
    }
  });

  // The Administrator goes last: its allowed writes may delete the targets the others are refused on.
  it.each(['readOnly', 'noConfig', 'coManaged', 'apiOnly', 'administrator'] as const)('%s: every route answers as its permission says', async (name) => {
    const principal = cast[name];
    const failures: string[] = [];
    const denied: { route: RouteEntry; requestId: string }[] = [];
    const allowedIds: string[] = [];
    for (const route of t.routeTable) {
      const key = `${route.method} ${route.url}`;
      const expected = expectedOutcome(route.permission, name);
      const write = !SAFE.has(route.method);
      const before = expected === 'forbidden' && write ? await snapshot() : undefined;
      const { res, requestId } = await send(route, principal.headers);
      const got = `${res.statusCode} ${res.body.slice(0, 160)}`;
      if (expected === 'forbidden') {
        denied.push({ route, requestId });
        if (res.statusCode !== 403 || bodyOf(res).code !== 'FORBIDDEN') failures.push(`${key}: expected 403 FORBIDDEN, got ${got}`);
        if (before !== undefined && JSON.stringify(await snapshot()) !== JSON.stringify(before)) failures.push(`${key}: a refused write changed something`);
      } else {
        allowedIds.push(requestId);
        if (expected === 'public') {
          const problem = publicAnswerProblem(res);
          if (problem) failures.push(`${key}: ${problem}: ${got}`);
        } else if (res.statusCode === 401 || (res.statusCode === 403 && !['TICKET_PERMISSION_REQUIRED', 'CO_MANAGED_REFUSED'].includes(String(bodyOf(res).code)))) {
          // Let through, a route may still refuse what a ticket permission of the caller's roles, or co-managed use, does not allow.
          failures.push(`${key}: expected to be let through, got ${got}`);
        }
      }
    }
    expect(failures).toEqual([]);

    const events = await t.services.audit.list({ kind: 'access.denied', actorId: principal.actorId, limit: 10_000 });
    const byRequest = new Map(events.map((e) => [e.requestId, e]));
    for (const { route, requestId } of denied) {
      const event = byRequest.get(requestId);
      const key = `${route.method} ${route.url}`;
      expect(event, `${key}: no access.denied audit event`).toBeDefined();
      expect(event).toMatchObject({ outcome: 'denied', subject: key, details: { permission: route.permission } });
      expect(event!.actor?.id).toBe(principal.actorId);
    }
    for (const requestId of allowedIds) expect(byRequest.has(requestId), `${requestId} was let through but audited as denied`).toBe(false);
    if (name === 'administrator') expect(denied).toEqual([]);
  });

  it('without credentials: every non-public route is 401 and changes nothing; public routes answer', async () => {
    const failures: string[] = [];
    for (const route of t.routeTable) {
      const key = `${route.method} ${route.url}`;
      const write = !SAFE.has(route.method);
      const before = route.permission !== 'public' && write ? await snapshot() : undefined;
      const { res } = await send(route, {});
      const got = `${res.statusCode} ${res.body.slice(0, 160)}`;
      if (route.permission === 'public') {
        const problem = publicAnswerProblem(res);
        if (problem) failures.push(`${key}: ${problem}: ${got}`);
        continue;
      }
      if (res.statusCode !== 401 || bodyOf(res).code !== 'UNAUTHENTICATED') failures.push(`${key}: expected 401 UNAUTHENTICATED, got ${got}`);
      if (before !== undefined && JSON.stringify(await snapshot()) !== JSON.stringify(before)) failures.push(`${key}: a refused write changed something`);
    }
    expect(failures).toEqual([]);
  });
});
