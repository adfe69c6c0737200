import type { Services } from '../../../services.js';
import { DomainError, isDomainError } from '../../../shared/errors.js';

// Names read within one batch: its records name the same few types and teams over and over.
const batchNames = new WeakMap<Services, Map<string, string>>();

/**
 * Names of configuration entities by id (Halo shows a ticket's team by name); a missing one is left out. `services` of a
 * batch remember them for the batch's other records.
 */
export async function entityNames(services: Services, type: string, ids: (string | null)[], options: { batch?: boolean } = {}): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const known = options.batch ? (batchNames.get(services) ?? new Map<string, string>()) : new Map<string, string>();
  if (options.batch) batchNames.set(services, known);
  for (const id of new Set(ids)) {
    if (!id) continue;
    const name = known.get(`${type}/${id}`);
    if (name !== undefined) {
      names.set(id, name);
      continue;
    }
    try {
      names.set(id, (await services.config.get(type, id)).name);
      known.set(`${type}/${id}`, names.get(id)!);
    } catch (error) {
      if (!isDomainError(error) || error.code !== 'ENTITY_NOT_FOUND') throw error;
    }
  }
  return names;
}

export const teamNames = (services: Services, ids: (string | null)[], options: { batch?: boolean } = {}) => entityNames(services, 'teams', ids, options);

/** The team a posted name stands for (names are compared without case); none is refused naming the field. */
export async function teamIdByName(services: Services, name: string, field: string): Promise<string> {
  const wanted = name.trim().toLowerCase();
  const page = await services.config.list('teams', { limit: 200, q: name.trim() });
  const team = page.items.find((t) => t.name.toLowerCase() === wanted);
  if (!team) throw new DomainError('REFERENCE_NOT_FOUND', `There is no team named "${name}".`, { errors: [{ path: field, code: 'reference-not-found', message: `No team is named "${name}".` }] });
  return team.id;
}
