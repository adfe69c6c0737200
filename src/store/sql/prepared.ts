import { CompiledQuery, type Compilable, type Kysely, type QueryResult, type RootOperationNode } from 'kysely';
import { executeCompiled } from '../dialects/transaction.js';
import type { Database } from '../schema.js';

type Slot = { arg: number } | { constant: unknown };

interface Shape {
  sql: string;
  slots: Slot[];
  /** Shared by every run: the node and id a compiled query carries, which no plugin reads here. */
  query: RootOperationNode;
  queryId: CompiledQuery['queryId'];
}

/**
 * A hot statement whose SQL is built and compiled by Kysely once per dialect; each call only binds its
 * arguments. `build` is called once with placeholders for the arguments, so the statement's shape must not
 * depend on their values (no `in` lists, no optional clauses).
 */
export function prepared<A extends unknown[], R>(
  build: (db: Kysely<Database>, ...args: A) => Compilable<R>,
): (db: Kysely<Database>, ...args: A) => Promise<QueryResult<R>> {
  // Keyed by the dialect's adapter: every transaction's Kysely of one database shares it.
  const shapes = new WeakMap<object, Shape>();
  return (db, ...args) => {
    const adapter = db.getExecutor().adapter;
    let shape = shapes.get(adapter);
    if (!shape) {
      const placeholders = args.map((_, i) => `\u0000prepared-argument-${i}`);
      const compiled = build(db, ...(placeholders as unknown as A)).compile();
      const slots = compiled.parameters.map((p): Slot => {
        const arg = placeholders.indexOf(p as string);
        if (arg < 0 && typeof p === 'string' && p.includes('\u0000prepared-argument-')) throw new Error('prepared: an argument must be bound as it is');
        return arg >= 0 ? { arg } : { constant: p };
      });
      if (placeholders.some((_, i) => !slots.some((slot) => 'arg' in slot && slot.arg === i))) throw new Error('prepared: every argument must be bound');
      const { query, queryId } = CompiledQuery.raw(compiled.sql);
      shape = { sql: compiled.sql, slots, query, queryId };
      shapes.set(adapter, shape);
    }
    const parameters = shape.slots.map((slot) => ('arg' in slot ? args[slot.arg] : slot.constant));
    const { sql, query, queryId } = shape;
    return executeCompiled(db, { sql, parameters, query, queryId } as CompiledQuery<R>);
  };
}
