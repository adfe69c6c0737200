import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { DomainError, isDomainError } from '../../../shared/errors.js';
import type { RoutePermission } from '../../plugins/auth.js';
import { problems } from '../../schemas.js';

export type HaloRecord = Record<string, unknown>;
/** The alias of a global id already looked up for this answer (null for null). */
export type AliasOf = (globalId: string | null | undefined) => number | null;
/** One numbered page of a list and how many records the list holds under its filters. */
export interface Counted<V> {
  items: V[];
  total: number;
}
/** The sort a list is asked for: one of the resource's sort keys, ties broken by id in the same direction. */
export interface ListOrder<K extends string = string> {
  by: K;
  desc: boolean;
}
export interface ListArgs<K extends string = string> {
  offset: number;
  limit: number;
  order: ListOrder<K>;
  search?: string;
  /** Every query parameter, the resource's filters among them. */
  query: Record<string, unknown>;
}

const tags = ['Halo API'];
/** Most records one answer holds: a page, or a list asked for without paging. */
export const MAX_RECORDS = 1000;
const PAGE_SIZE = 50;

export const haloBoolean = z.union([z.boolean(), z.stringbool()]);
export const haloId = z.coerce.number().int().min(1).max(2_147_483_647);
/** An integer id as a UUID, for the records whose id Halo declares a UUID (Policy): the integer is its last group. */
export const uuidOfId = (id: number) => `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`;
const idParams = z.object({
  id: z
    .string()
    .max(40)
    .regex(/^(\d{1,10}|00000000-0000-4000-8000-\d{12})$/, 'must be an integer id')
    .transform((value) => Number(value.slice(-12)))
    .pipe(z.number().int().min(1).max(2_147_483_647))
    .describe('The record’s integer id on this instance'),
});
export const idField = z.number().int().describe('Integer id: this instance’s alias of the record’s global id');
export const nullableId = idField.nullable();
/** The fields of a mapped record that were given: absent ones stay absent. */
export const present = (values: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
/** A body field that holds a string (an id), or null. */
export const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
export const globalIdField = z.string().describe('The record’s global id (the same on every instance it travels to)');

export const listQuery = {
  pageinate: haloBoolean.optional().describe('true: answer one page (page_size, page_no)'),
  page_size: z.coerce.number().int().min(1).max(MAX_RECORDS).optional().describe(`Records a page (default ${PAGE_SIZE})`),
  page_no: z.coerce.number().int().min(1).max(1_000_000).optional().describe('The page, from 1'),
  count: z.coerce.number().int().min(1).max(MAX_RECORDS).optional().describe(`Without paging: at most this many records (default ${MAX_RECORDS})`),
  search: z.string().max(200).optional(),
  order: z.string().max(100).optional().describe('The field to sort the whole list by (the resource’s order fields); ties by id'),
  orderdesc: haloBoolean.optional().describe('true: sort descending'),
};
type ListQuery = { pageinate?: boolean; page_size?: number; page_no?: number; count?: number; search?: string; order?: string; orderdesc?: boolean };

export interface ResourceSpec<V, K extends string = string> {
  /** The path under /api, e.g. `Tickets`. */
  path: string;
  /** The singular used in operation ids, e.g. `Ticket`. */
  one: string;
  listKey: string;
  /** What the records are, for summaries. */
  noun: string;
  record: z.ZodObject;
  /** The fields a POST takes (more are accepted and ignored). */
  input?: z.ZodObject;
  read: RoutePermission;
  edit?: RoutePermission;
  everyCustomer?: true;
  filters?: z.ZodRawShape;
  getQuery?: z.ZodRawShape;
  description: string;
  /** Halo field → the sort key `list` takes for it: the fields `order` may name. */
  orders: Record<string, K>;
  /** Shiplog's own order of the list, used without `order`. */
  defaultOrder: ListOrder<K>;
  /** One numbered page of the records the caller sees under the filters, sorted as asked, and how many there are. */
  list(request: FastifyRequest, args: ListArgs<K>): Promise<Counted<V>>;
  get(request: FastifyRequest, id: string, query: Record<string, unknown>): Promise<V>;
  /**
   * Act on each posted record in its own transaction(s) instead of all in one: for operations that span instances (a
   * push, a link, a restore), which no one local transaction can hold.
   */
  separately?: true;
  /** Creates (id null) or updates one posted record, through `services`: those of the request's one transaction. */
  save?(request: FastifyRequest, record: HaloRecord, id: string | null, services: Services): Promise<V>;
  remove?(request: FastifyRequest, id: string): Promise<void>;
  /** The global ids a record shows as integer ids. */
  ids(view: V): (string | null | undefined)[];
  toHalo(view: V, alias: AliasOf): HaloRecord;
}

/** The global id behind an integer id, or 404 naming it. */
export async function globalIdOf(services: Services, alias: number, noun: string): Promise<string> {
  const id = await services.aliases.globalIdOf(alias);
  if (!id) throw new DomainError('RECORD_NOT_FOUND', `There is no ${noun} with id ${alias}.`, { id: alias });
  return id;
}

/**
 * Global ids of integer ids already looked up, per services object (a batch's own, or the instance's). An alias never
 * changes what it stands for once given, so only the size is bounded.
 */
const resolved = new WeakMap<Services, Map<number, string>>();
const RESOLVED_MAX = 10_000;

/** A posted integer reference turned into a global id; a wrong one is refused naming its field. */
export async function referenceOf(services: Services, value: unknown, field: string): Promise<string | null> {
  if (value === undefined || value === null || value === 0 || value === -1) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new DomainError('VALIDATION_FAILED', `${field} must be an integer id.`, { errors: [{ path: field, code: 'invalid-type', message: 'Expected an integer id.' }] });
  }
  let known = resolved.get(services);
  if (!known || known.size > RESOLVED_MAX) resolved.set(services, (known = new Map()));
  const id = known.get(value) ?? (await services.aliases.globalIdOf(value));
  if (id) known.set(value, id);
  if (!id) throw new DomainError('REFERENCE_NOT_FOUND', `${field} names no record on this instance.`, { errors: [{ path: field, code: 'reference-not-found', message: `No record has id ${value}.` }] });
  return id;
}

/** Records shown with their integer ids: each global id they show gets its alias first. */
export async function recordsOf<V>(services: Services, spec: Pick<ResourceSpec<V>, 'ids' | 'toHalo'>, views: V[]): Promise<HaloRecord[]> {
  const ids = views.flatMap((v) => spec.ids(v)).filter((id): id is string => typeof id === 'string');
  const aliases = await services.aliases.aliasesOf(ids);
  const alias: AliasOf = (id) => (id ? (aliases.get(id) ?? null) : null);
  return views.map((v) => spec.toHalo(v, alias));
}

/**
 * A Shiplog problem in Halo's terms: each field named as the posted record names it, under the record's index. The
 * error keeps its code and status.
 */
export async function inHaloTerms<T>(index: number | null, fields: Record<string, string>, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!isDomainError(error) || !Array.isArray(error.details.errors)) throw error;
    const errors = (error.details.errors as { path: string; code: string; message: string }[]).map((e) => {
      const head = e.path.split(/[.[]/)[0] ?? '';
      const path = fields[head] !== undefined ? fields[head] + e.path.slice(head.length) : e.path;
      return { ...e, path: index === null ? path : `[${index}]${path ? `.${path}` : ''}` };
    });
    throw new DomainError(error.code, error.message, { ...error.details, errors });
  }
}

/** The sort asked for: `order` names one of the resource's order fields (else 400 naming it); `orderdesc` its direction. */
function orderOf<K extends string>(spec: Pick<ResourceSpec<unknown, K>, 'orders' | 'defaultOrder'>, query: ListQuery): ListOrder<K> {
  const desc = query.orderdesc ?? (query.order === undefined ? spec.defaultOrder.desc : false);
  if (query.order === undefined || query.order === '') return { by: spec.defaultOrder.by, desc };
  const field = query.order.toLowerCase();
  const by = Object.hasOwn(spec.orders, field) ? spec.orders[field] : undefined;
  if (by === undefined) {
    const fields = Object.keys(spec.orders).join(', ');
    throw new DomainError('VALIDATION_FAILED', `This list cannot be sorted by "${query.order}".`, {
      errors: [{ path: 'order', code: 'unsupported-order', message: `Sort by one of: ${fields}.` }],
    });
  }
  return { by, desc };
}

/** The numbered page a Halo list asks for: `page_no` of `page_size`, or without paging the first `count`. */
function windowOf(query: ListQuery): { offset: number; limit: number } {
  if (!query.pageinate) return { offset: 0, limit: query.count ?? MAX_RECORDS };
  const limit = query.page_size ?? PAGE_SIZE;
  return { offset: ((query.page_no ?? 1) - 1) * limit, limit };
}

/**
 * A numbered page of a list held whole in memory (a ticket's actions, the linked instances): sorted by the key asked
 * for, ties by id, then sliced. For lists bounded by nature, never for a table's rows.
 */
export function pageOfAll<V, K extends string>(all: V[], { offset, limit, order }: Pick<ListArgs<K>, 'offset' | 'limit' | 'order'>, keys: Record<K, (v: V) => string | number | null> & { id: (v: V) => string | number | null }): Counted<V> {
  const sign = order.desc ? -1 : 1;
  const compare = (x: string | number | null, y: string | number | null) => (x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1);
  const sorted = [...all].sort((a, b) => sign * (compare(keys[order.by](a), keys[order.by](b)) || compare(keys.id(a), keys.id(b))));
  return { items: sorted.slice(offset, offset + limit), total: all.length };
}

/** `GET /api/X`, `GET /api/X/{id}`, `POST /api/X` and `DELETE /api/X/{id}` of one Halo resource, over Shiplog's services. */
export function haloResource<V, K extends string = string>(services: Services, spec: ResourceSpec<V, K>): FastifyPluginAsyncZod {
  return async (app) => {
    const base = `/api/${spec.path}`;
    const config = (permission: RoutePermission) => ({ permission, ...(spec.everyCustomer ? { customers: 'every' as const } : {}) });
    app.get(
      base,
      {
        config: config(spec.read),
        schema: {
          tags,
          operationId: `haloList${spec.path}`,
          summary: `List ${spec.noun}`,
          description: `${spec.description} Answers { record_count, ${spec.listKey} }; record_count is how many records the list holds under the filters (every page). order: ${Object.keys(spec.orders).join(', ')}. Unknown Halo parameters are accepted and ignored.`,
          querystring: z.object({ ...listQuery, ...spec.filters }).loose(),
          response: { 200: z.object({ record_count: z.number().int(), [spec.listKey]: z.array(spec.record) }), ...problems(404, 422) },
        },
      },
      async (request) => {
        const query = request.query as ListQuery & Record<string, unknown>;
        const order = orderOf(spec, query);
        const { items, total } = await spec.list(request, { ...windowOf(query), order, query, ...(query.search ? { search: query.search } : {}) });
        return { record_count: total, [spec.listKey]: await recordsOf(services, spec, items) };
      },
    );
    app.get(
      `${base}/:id`,
      {
        config: config(spec.read),
        schema: {
          tags,
          operationId: `haloGet${spec.one}`,
          summary: `Read one of the ${spec.noun}`,
          description: `${spec.description} Answers the record itself.`,
          params: idParams,
          querystring: z.object({ ...spec.getQuery }).loose(),
          response: { 200: spec.record, ...problems(404) },
        },
      },
      async (request) => {
        const id = await globalIdOf(services, request.params.id, spec.noun);
        const [record] = await recordsOf(services, spec, [await spec.get(request, id, request.query as Record<string, unknown>)]);
        return record!;
      },
    );
    const save = spec.save?.bind(spec);
    if (save && spec.edit) {
      const input = (spec.input ?? z.object({})).extend({ id: z.number().int().optional().describe('Absent, 0 or negative: create; else the record to update') }).loose();
      app.post(
        base,
        {
          config: config(spec.edit),
          schema: {
            tags,
            operationId: `haloSave${spec.path}`,
            summary: `Create or update ${spec.noun}`,
            description: `${spec.description} Takes an array of records: one without an id is created, one with an id updated (only the fields sent change). ${spec.separately ? 'Each record is acted on in turn, each operation in its own transaction(s), as it spans instances.' : 'All are saved in one transaction, or none.'} Answers the saved record, or the records when several were posted.`,
            // Halo posts arrays; a lone record is taken as an array of one.
            body: z.preprocess((value) => (Array.isArray(value) ? value : [value]), z.array(input).min(1).max(MAX_RECORDS)),
            response: { 200: z.union([spec.record, z.array(spec.record)]), ...problems(404, 409, 412, 422, 423, 502) },
          },
        },
        async (request) => {
          const posted = request.body as HaloRecord[];
          const run = spec.separately ? <T>(fn: (s: Services) => Promise<T>) => fn(services) : <T>(fn: (s: Services) => Promise<T>) => services.batch(fn);
          const saved = await run(async (joined) => {
            const out: V[] = [];
            for (const [i, record] of posted.entries()) {
              const alias = typeof record.id === 'number' && record.id > 0 ? record.id : null;
              const id = alias === null ? null : await inHaloTerms(i, {}, () => referenceOf(joined, alias, 'id'));
              out.push(await inHaloTerms(i, {}, () => save(request, record, id, joined)));
            }
            return out;
          });
          services.webhooks.nudge();
          const records = await recordsOf(services, spec, saved);
          return records.length === 1 ? records[0]! : records;
        },
      );
    }
    const remove = spec.remove?.bind(spec);
    if (remove && spec.edit) {
      app.delete(
        `${base}/:id`,
        {
          config: config(spec.edit),
          schema: {
            tags,
            operationId: `haloDelete${spec.one}`,
            summary: `Delete one of the ${spec.noun}`,
            description: spec.description,
            params: idParams,
            response: { 200: z.object({}), ...problems(404, 409, 423) },
          },
        },
        async (request) => {
          await remove(request, await globalIdOf(services, request.params.id, spec.noun));
          return {};
        },
      );
    }
  };
}
