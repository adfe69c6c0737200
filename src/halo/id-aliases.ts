import type { Clock } from '../shared/clock.js';
import type { Transactor } from '../store/ports.js';

/** Integer aliases of global ids on this instance: stable, never reused, never an identity across instances. */
export interface IdAliases {
  /** Each id's alias, assigning the next free alias to ids that have none yet. */
  aliasesOf(globalIds: Iterable<string>): Promise<Map<string, number>>;
  /** The global id an alias stands for; undefined when no record ever had it. */
  globalIdOf(alias: number): Promise<string | undefined>;
}

export function createIdAliases(deps: { db: Transactor; clock: Clock }): IdAliases {
  const { db, clock } = deps;
  return {
    async aliasesOf(globalIds) {
      const ids = [...new Set(globalIds)];
      if (ids.length === 0) return new Map();
      const found = await db.read((stores) => stores.aliases.aliasesOf(ids));
      // Reads stay reads once every record shown has been given its alias.
      if (found.size === ids.length) return found;
      return db.write((stores) => stores.aliases.assign(ids, clock.now()));
    },
    globalIdOf: (alias) => db.read((stores) => stores.aliases.globalIdOf(alias)),
  };
}
