import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { createAgent, createApplication, issueAccessToken, bearer } from '../../test/support/principals.js';
import type { RouteEntry } from '../http/plugins/auth.js';
import { newId } from '../shared/ids.js';
import { administratorRoleBody } from './administrator-role.js';
import { applicationGrants, effectivePermissions, isAllowed, permissions, roleGrants, type Permission, type RoleGrants } from './permissions.js';

type Level = 'none' | 'read' | 'modify';

const areas = [
  ['configAccess', 'config'],
  ['ticketAccess', 'tickets'],
  ['customerAccess', 'customers'],
  ['userAccess', 'users'],
  ['assetAccess', 'assets'],
] as const;

const levelArb = fc.constantFrom<Level>('none', 'read', 'modify');
const roleArb: fc.Arbitrary<RoleGrants> = fc.record(
  {
    configAccess: levelArb,
    ticketAccess: levelArb,
    customerAccess: levelArb,
    userAccess: levelArb,
    assetAccess: levelArb,
    canPushConfig: fc.boolean(),
  },
  { requiredKeys: [] },
);
const permissionSetArb = fc.subarray([...permissions]).map((list) => new Set<Permission>(list));
// Each permission present three times in four, so intersections of several sets are often non-empty.
const likelySetArb = fc
  .tuple(...permissions.map(() => fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 })))
  .map((flags) => permissions.filter((_, i) => flags[i]));

/** The guide's rules for what a role grants, written out independently of roleGrants. */
function modelGrants(role: RoleGrants): Set<Permission> {
  const granted = new Set<Permission>();
  for (const [field, resource] of areas) {
    const level = role[field];
    if (level === 'read' || level === 'modify') granted.add(`${resource}:read`);
    if (level === 'modify') granted.add(`${resource}:edit`);
  }
  // Client access covers the customers' assets.
  if (role.customerAccess === 'read' || role.customerAccess === 'modify') granted.add('assets:read');
  if (role.customerAccess === 'modify') granted.add('assets:edit');
  if (role.configAccess === 'modify') granted.add('changes:rollback');
  if (role.canPushConfig === true) granted.add('config:push');
  return granted;
}

function modelAgent(roles: RoleGrants[]): Set<Permission> {
  return new Set(roles.flatMap((role) => [...modelGrants(role)]));
}

describe('roleGrants', () => {
  it('client access covers the customers’ assets; user access is a level of its own', () => {
    expect([...roleGrants({ customerAccess: 'modify' })].sort()).toEqual(['assets:edit', 'assets:read', 'customers:edit', 'customers:read']);
    expect([...roleGrants({ customerAccess: 'read' })].sort()).toEqual(['assets:read', 'customers:read']);
    expect(roleGrants({ customerAccess: 'modify' }).has('users:read')).toBe(false);
    expect([...roleGrants({ assetAccess: 'read' })]).toEqual(['assets:read']);
  });

  it.each(areas)('%s: modify grants read and edit, read grants read only, none or absent grants nothing', (field, resource) => {
    expect([...roleGrants({ [field]: 'modify' })]).toEqual(expect.arrayContaining([`${resource}:read`, `${resource}:edit`]));
    expect(roleGrants({ [field]: 'read' }).has(`${resource}:read`)).toBe(true);
    expect(roleGrants({ [field]: 'read' }).has(`${resource}:edit`)).toBe(false);
    expect(roleGrants({ [field]: 'none' }).size).toBe(0);
    expect(roleGrants({}).size).toBe(0);
  });

  it('configuration modify grants changes:rollback; configuration read does not', () => {
    expect(roleGrants({ configAccess: 'modify' }).has('changes:rollback')).toBe(true);
    expect(roleGrants({ configAccess: 'read' }).has('changes:rollback')).toBe(false);
    expect(roleGrants({ configAccess: 'none', ticketAccess: 'modify', customerAccess: 'modify', userAccess: 'modify', assetAccess: 'modify' }).has('changes:rollback')).toBe(false);
  });

  it('canPushConfig grants config:push, and nothing else grants it', () => {
    expect(roleGrants({ configAccess: 'modify', canPushConfig: true }).has('config:push')).toBe(true);
    expect(roleGrants({ canPushConfig: true }).has('config:push')).toBe(true);
    expect(roleGrants({ configAccess: 'modify', canPushConfig: false }).has('config:push')).toBe(false);
  });

  it('no role ever grants access:manage or audit:read, not even the Administrator role body', () => {
    const administrator = roleGrants(administratorRoleBody([]) as RoleGrants);
    expect(administrator.has('access:manage')).toBe(false);
    expect(administrator.has('audit:read')).toBe(false);
    fc.assert(
      fc.property(roleArb, (role) => {
        const granted = roleGrants(role);
        expect(granted.has('access:manage')).toBe(false);
        expect(granted.has('audit:read')).toBe(false);
      }),
    );
  });

  it('matches the written-out rules for every role', () => {
    fc.assert(
      fc.property(roleArb, (role) => {
        expect([...roleGrants(role)].sort()).toEqual([...modelGrants(role)].sort());
      }),
    );
  });
});

describe('application grants', () => {
  it('cover the customers’ users with the customer permissions, and add nothing else (property)', () => {
    expect([...applicationGrants(['tickets:read', 'tickets:edit', 'customers:read', 'assets:read', 'assets:edit'])].sort()).toEqual([
      'assets:edit',
      'assets:read',
      'customers:read',
      'tickets:edit',
      'tickets:read',
      'users:read',
    ]);
    fc.assert(
      fc.property(permissionSetArb, (given) => {
        const granted = applicationGrants(given);
        for (const p of given) expect(granted.has(p)).toBe(true);
        for (const p of granted) expect(given.has(p) || (p === 'users:read' && given.has('customers:read')) || (p === 'users:edit' && given.has('customers:edit'))).toBe(true);
      }),
    );
  });
});

describe('effective permissions', () => {
  it('allowed ⇔ required ∈ application ∩ agent ∩ scopes, for random roles, applications and scopes', () => {
    fc.assert(
      fc.property(fc.array(roleArb, { maxLength: 4 }), fc.option(permissionSetArb, { nil: undefined }), fc.option(permissionSetArb, { nil: undefined }), (roles, application, scopes) => {
        const agent = new Set<Permission>();
        for (const role of roles) for (const p of roleGrants(role)) agent.add(p);
        const effective = effectivePermissions(agent, application, scopes);
        const model = modelAgent(roles);
        for (const required of permissions) {
          const expected = model.has(required) && (application?.has(required) ?? true) && (scopes?.has(required) ?? true);
          expect(isAllowed(required, effective), required).toBe(expected);
        }
      }),
    );
  });

  it('never widens and never changes its inputs', () => {
    fc.assert(
      fc.property(permissionSetArb, permissionSetArb, permissionSetArb, (agent, application, scopes) => {
        const copies = [new Set(agent), new Set(application), new Set(scopes)];
        const effective = effectivePermissions(agent, application, scopes);
        for (const p of effective) expect(agent.has(p) && application.has(p) && scopes.has(p)).toBe(true);
        expect([agent, application, scopes]).toEqual(copies);
      }),
    );
  });
});

describe('authorisation on the real stack (sqlite)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
  });
  afterAll(async () => t?.close());

  function requestFor(route: RouteEntry, headers: Record<string, string>): InjectOptions {
    // Unknown ids: an allowed write then finds nothing, so runs cannot disturb each other.
    const url = route.url.replace(/:(\w+)/g, (_, name: string) => (name === 'type' ? 'teams' : newId()));
    const method = route.method as NonNullable<InjectOptions['method']>;
    const hasBody = !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(route.method);
    return { method, url, headers, ...(hasBody ? { payload: { name: 'Property probe' } } : {}) };
  }

  it('the caller holds exactly application ∩ agent ∩ scopes, and a request is 403 exactly when the route needs more', async () => {
    const routes = t.routeTable;
    expect(routes.length).toBeGreaterThan(0);
    const administratorId = t.ctx.actor.id;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant('administrator' as const), fc.array(roleArb, { minLength: 1, maxLength: 2 })),
        fc.option(fc.record({ permissions: likelySetArb, scopes: likelySetArb }), { nil: null }),
        fc.constantFrom(...routes),
        async (holder, behind, route) => {
          let agentId = administratorId;
          let agentSet = new Set<Permission>(permissions);
          let personalToken = t.token;
          if (holder !== 'administrator') {
            const created = await createAgent(t, { roles: holder });
            agentId = created.agent.id;
            agentSet = modelAgent(holder);
            personalToken = created.token!;
          }
          let token = personalToken;
          let allowedSet = agentSet;
          if (behind) {
            const { application } = await createApplication(t, { agentId, permissions: behind.permissions });
            token = await issueAccessToken(t, application, { scopes: behind.scopes });
            const [own, asked] = [applicationGrants(behind.permissions), applicationGrants(behind.scopes)];
            allowedSet = new Set([...agentSet].filter((p) => own.has(p) && asked.has(p)));
          }
          const instance = await t.app.inject({ method: 'GET', url: '/v1/instance', headers: bearer(token) });
          expect(instance.json<{ you: { permissions: string[] } }>().you.permissions).toEqual([...allowedSet].sort());
          const res = await t.app.inject(requestFor(route, bearer(token)));
          const where = `${route.method} ${route.url} (${route.permission}) → ${res.statusCode} ${res.body.slice(0, 200)}`;
          if (route.permission === 'public' && res.statusCode === 401) {
            // A public sign-in route may refuse the sign-in it was asked for, never the caller for who it is.
            expect(res.json<{ code?: string }>().code, where).toBe('SIGN_IN_REFUSED');
          } else if (route.permission === 'public' || route.permission === 'authenticated') {
            expect([401, 403], where).not.toContain(res.statusCode);
          } else if (allowedSet.has(route.permission)) {
            // Let through, a desk route may still refuse what a ticket permission of the caller's roles does not allow.
            if (res.statusCode === 403) expect(res.json<{ code: string }>().code, where).toBe('TICKET_PERMISSION_REQUIRED');
            else expect(res.statusCode, where).not.toBe(401);
          } else {
            expect(res.statusCode, where).toBe(403);
            expect(res.json<{ code: string }>().code, where).toBe('FORBIDDEN');
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
