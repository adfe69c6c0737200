import type { EntityTypeDefinition } from '../catalog/entity-type.js';
import type { WriteContext } from '../shared/actor.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import type { Stores } from '../store/ports.js';
import type { WriteGuard } from '../tracking/change-writer.js';
import { readSettings } from '../tracking/settings-service.js';
import { ADMINISTRATOR_ROLE_ID, ROLES_TYPE } from './administrator-role.js';
import { assessRoleWrite, grantsRights, roleWriteRefusal } from './role-rights.js';

function agentIdsOf(body: Record<string, unknown> | null): string[] {
  const ids = body?.agentIds;
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}

/**
 * Rules for every write of a role, local or received (config writes, rollbacks, agent edits, push, pull, import):
 * the Administrator role can be neither deleted nor emptied of enabled administrators; every agent a role gains
 * exists here; who holds a role, and what a held role gives, change only by the caller's authority
 * (`roleWriteRefusal`); and on a locked instance nothing grants a right.
 */
export const roleWriteGuard: WriteGuard = {
  appliesTo: (def) => def.key === ROLES_TYPE,
  async check(stores: Stores, def: EntityTypeDefinition, entityId: string, before, after, ctx: WriteContext) {
    if (def.key !== ROLES_TYPE) return;
    if (entityId === ADMINISTRATOR_ROLE_ID && after === null) {
      throw new DomainError('ADMINISTRATOR_PROTECTED', 'The built-in Administrator role cannot be deleted.');
    }
    const had = new Set(agentIdsOf(before));
    const ids = agentIdsOf(after);
    const gained = ids.map((id, i) => ({ id, i })).filter(({ id }) => !had.has(id));
    const found = new Map((await stores.agents.findMany([...new Set(gained.map((g) => g.id))])).map((a) => [a.id, a]));
    const problems: FieldProblem[] = gained
      .filter(({ id }) => !found.has(id))
      .map(({ id, i }) => ({ path: `agentIds[${i}]`, code: 'reference-not-found', message: `No agent has id ${id}.` }));
    if (problems.length > 0) throw new DomainError('REFERENCE_NOT_FOUND', 'The role names agents that do not exist on this instance.', { errors: problems });
    if (entityId === ADMINISTRATOR_ROLE_ID && !(await stores.agents.findMany(ids)).some((a) => !a.disabled)) {
      throw new DomainError('ADMINISTRATOR_PROTECTED', 'The Administrator role must keep at least one enabled agent.', {
        errors: [{ path: 'agentIds', code: 'last-administrator', message: 'At least one enabled agent must hold the Administrator role.' }],
      });
    }

    const write = assessRoleWrite(before, after);
    const name = typeof (after ?? before)?.name === 'string' ? ((after ?? before)!.name as string) : entityId;
    const refusal = roleWriteRefusal({ id: entityId, name, isAdministrator: entityId === ADMINISTRATOR_ROLE_ID }, write, ctx.authority);
    if (refusal) throw refusal;
    if (grantsRights(write) && (await readSettings(stores)).disableConfigEditing) {
      throw new DomainError('CONFIG_LOCKED', `Editing of config-tracked entities is disabled on this instance: role "${name}" cannot gain holders or rights until the lock is lifted.`, {
        type: def.key,
        role: { id: entityId, name },
      });
    }
  },
};
