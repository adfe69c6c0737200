import type { EntityTypeDefinition } from '../catalog/entity-type.js';
import type { WriteContext } from '../shared/actor.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import type { EntityRecord, Stores } from '../store/ports.js';
import type { WriteGuard } from '../tracking/change-writer.js';

/** The built-in Administrator role has the same global id on every instance, so pipelines agree on it. */
export const ADMINISTRATOR_ROLE_ID = '0000000000000000000000ADMN';

export const ROLES_TYPE = 'roles';

export function administratorRoleBody(agentIds: string[]): Record<string, unknown> {
  return {
    name: 'Administrator',
    description: 'Built-in: every permission, including pushing configuration and managing access.',
    configAccess: 'modify',
    canPushConfig: true,
    ticketAccess: 'modify',
    customerAccess: 'modify',
    userAccess: 'modify',
    assetAccess: 'modify',
    ticketPermissions: {
      addTickets: true,
      editClosedTickets: true,
      viewUnassignedTickets: true,
      viewTicketsAssignedToOthers: true,
      changeTicketType: true,
      reassignTickets: true,
      assignOutsideOwnTeams: true,
      editTicketsNotAssigned: true,
      overrideMaxPriority: true,
      overrideReviewProcessing: true,
      treatAsSpam: true,
      exportTickets: true,
    },
    teamMemberships: [],
    customerRestrictions: { allowAllCustomers: true, customerIds: [] },
    agentIds,
    agentThirdPartyIds: [],
  };
}

function agentIdsOf(body: Record<string, unknown> | null): string[] {
  const ids = body?.agentIds;
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}

/**
 * Rules for role writes: every agent a role names exists here, and the Administrator role can be neither deleted
 * nor emptied of enabled administrators. Changes arriving by sync name another instance's agents and skip the check.
 */
export const roleWriteGuard: WriteGuard = {
  async check(stores: Stores, def: EntityTypeDefinition, entityId: string, _before, after, ctx: WriteContext) {
    if (def.key !== ROLES_TYPE || ctx.actor.kind === 'sync') return;
    if (entityId === ADMINISTRATOR_ROLE_ID && after === null) {
      throw new DomainError('ADMINISTRATOR_PROTECTED', 'The built-in Administrator role cannot be deleted.');
    }
    const ids = agentIdsOf(after);
    const found = new Map((await stores.agents.findMany([...new Set(ids)])).map((a) => [a.id, a]));
    const problems: FieldProblem[] = ids
      .map((id, i) => ({ id, i }))
      .filter(({ id }) => !found.has(id))
      .map(({ id, i }) => ({ path: `agentIds[${i}]`, code: 'reference-not-found', message: `No agent has id ${id}.` }));
    if (problems.length > 0) throw new DomainError('REFERENCE_NOT_FOUND', 'The role names agents that do not exist on this instance.', { errors: problems });
    if (entityId === ADMINISTRATOR_ROLE_ID && ![...found.values()].some((a) => !a.disabled)) {
      throw new DomainError('ADMINISTRATOR_PROTECTED', 'The Administrator role must keep at least one enabled agent.', {
        errors: [{ path: 'agentIds', code: 'last-administrator', message: 'At least one enabled agent must hold the Administrator role.' }],
      });
    }
  },
};

/**
 * A restore replaces the roles with production's, whose Administrator role names production's agents; this
 * instance's administrators keep it, so that neither they nor the applications acting for them are locked out.
 */
export async function keepAdministratorsOnRestore(stores: Stores, replaced: EntityRecord[]): Promise<void> {
  const local = replaced.find((e) => e.id === ADMINISTRATOR_ROLE_ID);
  if (!local) return;
  const restored = await stores.entities.find(ADMINISTRATOR_ROLE_ID);
  if (!restored) {
    await stores.entities.insert(local);
    return;
  }
  // Only agents of this instance: a member it lacks would make the role refuse every later edit here.
  const named = [...new Set([...agentIdsOf(local.body), ...agentIdsOf(restored.body)])];
  const members = (await stores.agents.findMany(named)).map((a) => a.id);
  await stores.entities.update({ ...restored, body: { ...restored.body, agentIds: named.filter((id) => members.includes(id)) } });
}
