import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../shared/settings.js';
import type { EntityRecord } from '../store/ports.js';
import { agentRecord } from '../../test/support/principals.js';
import { ADMINISTRATOR_ROLE_ID } from './administrator-role.js';
import { explainRights } from './agent-rights.js';
import { customerScope } from './customer-scope.js';
import { permissions, roleGrants, type RoleGrants } from './permissions.js';

const level = fc.constantFrom('none', 'read', 'modify', undefined);
const roleBody = fc.record({
  configAccess: level,
  canPushConfig: fc.option(fc.boolean(), { nil: undefined }),
  canApprovePromotions: fc.option(fc.boolean(), { nil: undefined }),
  canBypassPromotionWindows: fc.option(fc.boolean(), { nil: undefined }),
  ticketAccess: level,
  customerAccess: level,
  userAccess: level,
  assetAccess: level,
  ticketPermissions: fc.dictionary(fc.constantFrom('addTickets', 'exportTickets', 'reassignTickets'), fc.boolean()),
  teamMemberships: fc.array(fc.record({ teamId: fc.constantFrom('team-a', 'team-b'), access: fc.constantFrom('read', 'modify') }), { maxLength: 3 }),
  customerRestrictions: fc.record({ allowAllCustomers: fc.boolean(), customerIds: fc.subarray(['customer-a', 'customer-b']) }),
  agentIds: fc.subarray(['agent-1', 'agent-2']),
});
const roles = fc.array(fc.tuple(fc.boolean(), roleBody), { maxLength: 4 }).map((list) =>
  list.map(
    ([administrator, body], i): EntityRecord =>
      ({ id: administrator && i === 0 ? ADMINISTRATOR_ROLE_ID : `role-${i}`, type: 'roles', name: `Role ${i}`, body, version: 1, createdAt: 0, updatedAt: 0 }) as unknown as EntityRecord,
  ),
);

describe('explainRights', () => {
  it('for all roles and agents: explains exactly the rights the roles grant, each by a role the agent holds', () => {
    fc.assert(
      fc.property(roles, fc.constantFrom('agent-1', 'agent-2'), fc.boolean(), fc.boolean(), (all, agentId, disabled, restricted) => {
        const agent = agentRecord({ id: agentId, disabled, clientRestrictions: { allowAllCustomers: !restricted, customerIds: ['customer-a'] } });
        const held = disabled ? [] : all.filter((role) => (role.body.agentIds as string[]).includes(agentId));
        const explained = explainRights(agent, all, defaultSettings);

        const expected = new Set(held.flatMap((role) => (role.id === ADMINISTRATOR_ROLE_ID ? [...permissions] : [...roleGrants(role.body as RoleGrants)])));
        expect(new Set(explained.permissions.map((p) => p.permission))).toEqual(expected);
        expect(new Set(explained.notGranted)).toEqual(new Set(permissions.filter((p) => !expected.has(p))));
        const heldIds = new Set(held.map((r) => r.id));
        for (const right of [...explained.permissions, ...explained.ticketPermissions, ...explained.teams]) {
          expect(right.grantedBy.length).toBeGreaterThan(0);
          for (const source of right.grantedBy) expect(heldIds.has(source.roleId)).toBe(true);
        }
        const flags = new Set(held.flatMap((role) => Object.entries(role.body.ticketPermissions as Record<string, boolean>).filter(([, on]) => on).map(([flag]) => flag)));
        expect(new Set(explained.ticketPermissions.map((f) => f.flag))).toEqual(flags);
        const scope = customerScope(agent, held);
        expect(explained.customers.all).toBe(scope.kind === 'all');
        if (scope.kind === 'only') expect(explained.customers.customers.map((c) => c.id)).toEqual([...scope.customerIds].sort());
      }),
    );
  });
});
