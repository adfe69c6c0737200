import { CompiledQuery, type Compilable, type Kysely, type QueryResult, type RootOperationNode } from 'kysely';
import { executeCompiled } from '../dialects/transaction.js';
import type { Database } from '../schema.js';

interface Shape {
  sql: string;
  /** Per bound parameter: the index of the argument it takes, or -1 for a constant of the statement. */
  argumentAt: Int32Array;
  constants: unknown[];
  /** Shared by every run: the node and id a compiled query carries, which no plugin reads here. */
  query: RootOperationNode;
  queryId: CompiledQuery['queryId'];
}

type Run<R> = (db: Kysely<Database>, args: readonly unknown[]) => Promise<QueryResult<R>>;

function compiledOnce<R>(build: (db: Kysely<Database>, args: readonly unknown[]) => Compilable<R>): Run<R> {
  // Keyed by the dialect's adapter: every transaction's Kysely of one database shares it.
  const shapes = new WeakMap<object, Shape>();
  return (db, args) => {
    const adapter = db.getExecutor().adapter;
    let shape = shapes.get(adapter);
    if (!shape) {
      const placeholders = args.map((_, i) => `\u0000prepared-argument-${i}`);
      const argumentOf = new Map(placeholders.map((p, i) => [p, i]));
      const compiled = build(db, placeholders).compile();
      const bound = new Set<number>();
      const argumentAt = new Int32Array(compiled.parameters.length);
      const constants = compiled.parameters.map((p, i) => {
        const arg = typeof p === 'string' ? argumentOf.get(p) : undefined;
        if (arg === undefined && typeof p === 'string' && p.includes('\u0000prepared-argument-')) throw new Error('prepared: an argument must be bound as it is');
        argumentAt[i] = arg ?? -1;
        if (arg !== undefined) bound.add(arg);
        return arg === undefined ? p : undefined;
      });
      if (bound.size !== placeholders.length) throw new Error('prepared: every argument must be bound');
      const { query, queryId } = CompiledQuery.raw(compiled.sql);
      shape = { sql: compiled.sql, argumentAt, constants, query, queryId };
      shapes.set(adapter, shape);
    }
    const { sql, argumentAt, constants, query, queryId } = shape;
    const parameters = new Array<unknown>(argumentAt.length);
    for (let i = 0; i < argumentAt.length; i += 1) parameters[i] = argumentAt[i]! >= 0 ? args[argumentAt[i]!] : constants[i];
    return executeCompiled(db, { sql, parameters, query, queryId } as CompiledQuery<R>);
  };
}

/**
 * A hot statement whose SQL is built and compiled by Kysely once per dialect; each call only binds its
 * arguments. `build` is called once with placeholders for the arguments, so the statement's shape must not
 * depend on their values (no `in` lists, no optional clauses).
 */
export function prepared<A extends unknown[], R>(
  build: (db: Kysely<Database>, ...args: A) => Compilable<R>,
): (db: Kysely<Database>, ...args: A) => Promise<QueryResult<R>> {
  const run = compiledOnce((db, args) => build(db, ...(args as A)));
  return (db, ...args) => run(db, args);
}

/** Rows per multi-row statement: at most 256 (× columns stays under SQLite's 32,766 bound parameters and PostgreSQL's 65,535). */
const ROWS_MAX = 256;

/**
 * A statement over many rows of `width` values each (a multi-row insert, a union of ranges), run in chunks whose sizes
 * are powers of two, so that any number of rows uses at most nine statement shapes, each compiled once. With `pad`, a
 * row that selects nothing, the last chunk is filled up to its power of two instead: one statement for up to 256 rows.
 */
export function preparedRows<R>(
  width: number,
  build: (db: Kysely<Database>, rows: unknown[][]) => Compilable<R>,
  options: { pad?: unknown[] } = {},
): (db: Kysely<Database>, rows: unknown[][]) => Promise<(QueryResult<R> & { offset: number })[]> {
  const shapes = new Map<number, Run<R>>();
  const { pad } = options;
  if (pad && pad.length !== width) throw new Error(`preparedRows: the padding row has ${pad.length} values, not ${width}`);
  return async (db, rows) => {
    // Each chunk's result says where its rows start in `rows`: a statement may name its rows by position.
    const results: (QueryResult<R> & { offset: number })[] = [];
    for (let at = 0; at < rows.length; ) {
      const left = rows.length - at;
      let count = ROWS_MAX;
      if (pad) while (count >> 1 >= left) count >>= 1;
      else while (count > left) count >>= 1;
      let statement = shapes.get(count);
      if (!statement) {
        statement = compiledOnce((inner, values) => build(inner, Array.from({ length: count }, (_, r) => values.slice(r * width, (r + 1) * width))));
        shapes.set(count, statement);
      }
      const values: unknown[] = [];
      for (let r = at; r < at + count; r += 1) {
        const row = rows[r] ?? pad!;
        if (row.length !== width) throw new Error(`preparedRows: a row has ${row.length} values, not ${width}`);
        for (const value of row) values.push(value);
      }
      results.push({ ...(await statement(db, values)), offset: at });
      at += count;
    }
    return results;
  };
}
