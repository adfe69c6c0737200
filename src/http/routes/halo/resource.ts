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
export interface Page<V> {
  items: V[];
  nextCursor: string | null;
}
export interface ListArgs {
  limit: number;
  cursor?: string;
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
  order: z.string().max(100).optional().describe('A field to sort the records of the answer by'),
  orderdesc: haloBoolean.optional(),
};
type ListQuery = { pageinate?: boolean; page_size?: number; page_no?: number; count?: number; search?: string; order?: string; orderdesc?: boolean };

export interface ResourceSpec<V> {
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
  list(request: FastifyRequest, args: ListArgs): Promise<Page<V>>;
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

function sortRecords(records: HaloRecord[], order: string | undefined, desc: boolean | undefined): HaloRecord[] {
  if (!order) return records;
  const sign = desc ? -1 : 1;
  const key = (r: HaloRecord) => r[order];
  return [...records].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    if (x === y) return 0;
    if (x === undefined || x === null) return 1;
    if (y === undefined || y === null) return -1;
    return (x < y ? -1 : 1) * sign;
  });
}

/** The page asked for: Shiplog's cursors walked to `page_no`. */
async function pageOf<V>(spec: ResourceSpec<V>, request: FastifyRequest, query: ListQuery & Record<string, unknown>): Promise<V[]> {
  const size = query.pageinate ? (query.page_size ?? PAGE_SIZE) : (query.count ?? MAX_RECORDS);
  const base = { query, ...(query.search ? { search: query.search } : {}) };
  let skip = query.pageinate ? ((query.page_no ?? 1) - 1) * size : 0;
  let cursor: string | undefined;
  while (skip > 0) {
    const step = Math.min(skip, MAX_RECORDS);
    const page = await spec.list(request, { ...base, limit: step, ...(cursor ? { cursor } : {}) });
    if (!page.nextCursor) return [];
    cursor = page.nextCursor;
    skip -= step;
  }
  return (await spec.list(request, { ...base, limit: size, ...(cursor ? { cursor } : {}) })).items;
}

/** `GET /api/X`, `GET /api/X/{id}`, `POST /api/X` and `DELETE /api/X/{id}` of one Halo resource, over Shiplog's services. */
export function haloResource<V>(services: Services, spec: ResourceSpec<V>): FastifyPluginAsyncZod {
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
          description: `${spec.description} Answers { record_count, ${spec.listKey} }; record_count is the number of records in the answer. Unknown Halo parameters are accepted and ignored.`,
          querystring: z.object({ ...listQuery, ...spec.filters }).loose(),
          response: { 200: z.object({ record_count: z.number().int(), [spec.listKey]: z.array(spec.record) }), ...problems(404, 422) },
        },
      },
      async (request) => {
        const query = request.query as ListQuery & Record<string, unknown>;
        const records = sortRecords(await recordsOf(services, spec, await pageOf(spec, request, query)), query.order, query.orderdesc);
        return { record_count: records.length, [spec.listKey]: records };
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
