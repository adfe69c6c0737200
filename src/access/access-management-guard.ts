import type { EntityTypeDefinition } from '../catalog/entity-type.js';
import type { WriteContext } from '../shared/actor.js';
import { DomainError } from '../shared/errors.js';
import type { Stores } from '../store/ports.js';
import type { WriteGuard } from '../tracking/change-writer.js';
import { nameOf } from '../tracking/change-writer.js';

/**
 * Writes of types that decide who may sign in, and as whom (single sign-on connections), on every path: only an
 * administrator of this instance acting itself — signed in, or with its own API token — makes them, since a
 * connection can sign anyone in, administrators included. Received changes of them apply only when the receiver's
 * administrator pulls or imports them.
 */
export const accessManagementGuard: WriteGuard = {
  appliesTo: (def) => def.accessManagement,
  async check(_stores: Stores, def: EntityTypeDefinition, entityId: string, before, after, ctx: WriteContext) {
    if (!def.accessManagement) return;
    const { authority } = ctx;
    if (authority.isAdministrator && !authority.viaApplication) return;
    const name = nameOf(def, entityId, after ?? before);
    throw new DomainError(
      'FORBIDDEN',
      `${def.label} decide who may sign in here, and as whom: only an administrator of this instance, signed in or with their own API token, changes "${name}".`,
      { type: def.key, id: entityId, name, needs: ['administrator'] },
    );
  },
};
