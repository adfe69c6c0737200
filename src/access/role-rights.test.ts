import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Authority } from '../shared/actor.js';
import { permissions, roleGrants, type RoleGrants } from './permissions.js';
import { assessRoleWrite, roleWriteRefusal } from './role-rights.js';

const flags = ['addTickets', 'exportTickets', 'reassignTickets'] as const;
const level = fc.constantFrom('none', 'read', 'modify');
const subset = <T>(items: readonly T[]) => fc.subarray([...items]);

/** Role bodies over a small universe of agents, teams, customers and ticket groups, so writes often overlap. */
const roleBody = fc.record({
  name: fc.constantFrom('Editors', 'Support'),
  configAccess: level,
  canPushConfig: fc.boolean(),
  ticketAccess: level,
  customerAccess: level,
  userAccess: level,
  assetAccess: level,
  ticketPermissions: fc.record(Object.fromEntries(flags.map((f) => [f, fc.boolean()]))),
  teamMemberships: fc.array(fc.record({ teamId: fc.constantFrom('team-a', 'team-b'), access: fc.constantFrom('read', 'modify') }), { maxLength: 2 }),
  customerRestrictions: fc.record({ allowAllCustomers: fc.boolean(), customerIds: subset(['customer-a', 'customer-b']) }),
  ticketGroupRestrictions: fc.record({ restrictToGroups: fc.boolean(), ticketGroupIds: subset(['group-a', 'group-b']) }),
  agentIds: subset(['agent-1', 'agent-2', 'agent-3']),
  agentThirdPartyIds: subset(['EMP-1', 'EMP-2']),
});
const body = fc.option(roleBody, { nil: null });
const authority: fc.Arbitrary<Authority> = fc.record({
  permissions: subset(permissions).map((list) => new Set<string>(list)),
  ticketPermissions: subset(flags).map((list) => new Set<string>(list)),
  isAdministrator: fc.boolean(),
  viaApplication: fc.boolean(),
});

type Body = Record<string, unknown> | null;

/** The holders of a body and what each holds, written out apart from role-rights. */
function holders(role: Body): string[] {
  if (!role) return [];
  return [...(role.agentIds as string[]).map((id) => `agent ${id}`), ...(role.agentThirdPartyIds as string[]).map((id) => `third-party id ${id}`)];
}
const onFlags = (role: Body) => Object.entries((role?.ticketPermissions ?? {}) as Record<string, boolean>).filter(([, on]) => on).map(([f]) => f);
const granted = (role: Body) => (role ? [...roleGrants(role as RoleGrants)] : []);

/** Whether `after` lets its holders see more than `before`: a team joined or raised, a restriction loosened. */
function loosens(before: Body, after: Body): boolean {
  if (!after) return false;
  type Membership = { teamId: string; access: string };
  const teams = (role: Body) => ((role?.teamMemberships ?? []) as Membership[]);
  const teamWider = teams(after).some((m) => !teams(before).some((b) => b.teamId === m.teamId && (b.access === 'modify' || m.access === 'read')));
  const wider = (key: string, ids: string, restricted: (r: Record<string, unknown>) => boolean) => {
    const a = after[key] as Record<string, unknown>;
    const b = (before?.[key] ?? {}) as Record<string, unknown>;
    if (!before || !restricted(b)) return false;
    return !restricted(a) || (a[ids] as string[]).some((id) => !(b[ids] as string[]).includes(id));
  };
  return (
    teamWider ||
    wider('customerRestrictions', 'customerIds', (r) => r.allowAllCustomers === false) ||
    wider('ticketGroupRestrictions', 'ticketGroupIds', (r) => r.restrictToGroups === true)
  );
}

describe('who may write a role', () => {
  it('lets a write through only if no holder gains a right the caller lacks, and holders change only with access:manage', () => {
    fc.assert(
      fc.property(body, body, authority, fc.boolean(), (before, after, caller, isAdministratorRole) => {
        const refusal = roleWriteRefusal({ id: 'role', name: 'Role', isAdministrator: isAdministratorRole }, assessRoleWrite(before, after), caller);
        if (refusal) {
          expect(refusal.code).toBe('FORBIDDEN');
          return;
        }
        const was = new Set(holders(before));
        const is = holders(after);
        const holdersChanged = is.length !== was.size || is.some((h) => !was.has(h));
        if (isAdministratorRole && holdersChanged) {
          // Only an administrator acting itself changes who administers.
          expect(caller.isAdministrator && !caller.viaApplication).toBe(true);
          return;
        }
        if (caller.isAdministrator) return;
        if (holdersChanged) expect(caller.permissions.has('access:manage')).toBe(true);
        for (const holder of is) {
          const kept = was.has(holder);
          // A holder kept through a wider scope gains its rights anew in the wider scope.
          const fresh = !kept || loosens(before, after);
          const gained = granted(after).filter((p) => fresh || !granted(before).includes(p));
          const gainedFlags = onFlags(after).filter((f) => fresh || !onFlags(before).includes(f));
          for (const p of gained) expect(caller.permissions.has(p), `${holder} gains ${p}`).toBe(true);
          for (const f of gainedFlags) expect(caller.ticketPermissions.has(f), `${holder} gains ${f}`).toBe(true);
          if (gained.length + gainedFlags.length > 0 || loosens(before, after)) expect(caller.permissions.has('access:manage')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never refuses a write that neither changes holders nor gives a held role more', () => {
    fc.assert(
      fc.property(roleBody, fc.constantFrom('Renamed', 'Other'), fc.boolean(), (role, name, narrow) => {
        const after = { ...role, name, ...(narrow ? { configAccess: 'none', canPushConfig: false } : {}) };
        const nobody: Authority = { permissions: new Set(['config:edit']), ticketPermissions: new Set(), isAdministrator: false, viaApplication: false };
        expect(roleWriteRefusal({ id: 'role', name, isAdministrator: true }, assessRoleWrite(role, after), nobody)).toBeNull();
      }),
    );
  });

  it('lets a role without holders be created, or given anything, by configuration editors', () => {
    fc.assert(
      fc.property(roleBody, roleBody, (first, second) => {
        const unheld = (role: typeof first) => ({ ...role, agentIds: [], agentThirdPartyIds: [] });
        const editor: Authority = { permissions: new Set(['config:edit']), ticketPermissions: new Set(), isAdministrator: false, viaApplication: false };
        expect(roleWriteRefusal({ id: 'role', name: 'Role', isAdministrator: false }, assessRoleWrite(null, unheld(first)), editor)).toBeNull();
        expect(roleWriteRefusal({ id: 'role', name: 'Role', isAdministrator: false }, assessRoleWrite(unheld(first), unheld(second)), editor)).toBeNull();
      }),
    );
  });

  it('names the role, what the write grants and what the caller lacks', () => {
    const before = { name: 'Editors', configAccess: 'modify', agentIds: ['agent-1'], agentThirdPartyIds: [] };
    const after = { ...before, ticketAccess: 'modify', teamMemberships: [{ teamId: 'team-a', access: 'modify' }] };
    const refusal = roleWriteRefusal(
      { id: 'role-1', name: 'Editors', isAdministrator: false },
      assessRoleWrite(before, after),
      { permissions: new Set(['config:read', 'config:edit', 'changes:rollback']), ticketPermissions: new Set(), isAdministrator: false, viaApplication: false },
    );
    expect(refusal?.message).toContain('role "Editors"');
    expect(refusal?.details).toMatchObject({
      role: { id: 'role-1', name: 'Editors' },
      grants: expect.arrayContaining(['tickets:edit', 'team team-a (modify)']),
      missing: expect.arrayContaining(['access:manage', 'tickets:read', 'tickets:edit']),
    });
  });
});
