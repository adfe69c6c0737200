import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { Services } from '../../../services.js';
import type { EntitySortKey } from '../../../store/ports.js';
import { DomainError } from '../../../shared/errors.js';
import type { EntityView } from '../../../tracking/config-service.js';
import { scopeOf, writeContext } from '../../plugins/auth.js';
import { haloResource, inHaloTerms, type AliasOf, type HaloRecord } from './resource.js';

export interface ConfigResourceSpec {
  path: string;
  one: string;
  listKey: string;
  noun: string;
  /** The catalog type behind the resource. */
  type: string;
  description: string;
  record: z.ZodObject;
  input: z.ZodObject;
  /** Shiplog field → the Halo field a problem with it is reported under. */
  fields: Record<string, string>;
  /** The fields of a posted record in Shiplog's terms (integer ids resolved through `services`); only those sent. */
  toBody(record: HaloRecord, services: Services): Promise<Record<string, unknown>>;
  /** Fields a new entity gets that Halo does not send (a status's kind). */
  defaults?: Record<string, unknown>;
  /** Only the entities of the type whose body has this value in this field are this resource's (ticket statuses among all statuses). */
  only?: { field: string; value: string };
  /** The Halo fields that hold the entity's name, for `order` (default `name`). */
  nameFields?: string[];
  ids(view: EntityView): (string | null | undefined)[];
  toHalo(view: EntityView, alias: AliasOf): HaloRecord;
}

/**
 * A Halo resource over one configuration type: saved through the configuration service, so each save is one tracked
 * change with the same checks, production lock and client restrictions as /v1/config. A posted record updates only the
 * fields it sends.
 */
export function configResource(services: Services, spec: ConfigResourceSpec): FastifyPluginAsyncZod {
  const mine = (view: EntityView) => !spec.only || view.body[spec.only.field] === spec.only.value;
  const bodyMatches = spec.only ? [{ field: spec.only.field, anyOf: [spec.only.value] }] : [];
  const visible = async (id: string, scope: ReturnType<typeof scopeOf>, { config } = services) => {
    const view = await config.get(spec.type, id, { scope });
    // Another kind of entity of the same type (an asset status for /api/Status) is not this resource's.
    if (!mine(view)) throw new DomainError('ENTITY_NOT_FOUND', `There is no ${spec.noun} with id ${id}.`, { type: spec.type, id });
    return view;
  };
  return haloResource<EntityView, EntitySortKey>(services, {
    path: spec.path,
    one: spec.one,
    listKey: spec.listKey,
    noun: spec.noun,
    description: spec.description,
    record: spec.record,
    input: spec.input,
    read: 'config:read',
    edit: 'config:edit',
    orders: { id: 'id', ...Object.fromEntries((spec.nameFields ?? ['name']).map((field) => [field, 'name' as const])) },
    defaultOrder: { by: 'id', desc: false },
    list: (request, { offset, limit, order, search }) =>
      services.config.page(spec.type, { ...(search ? { q: search } : {}), bodyMatches, scope: scopeOf(request) }, { ...order, offset, limit }),
    get: (request, id) => visible(id, scopeOf(request)),
    async save(request, record, id, joined) {
      const { config } = joined;
      const scope = scopeOf(request);
      const ctx = writeContext(request);
      const body = await spec.toBody(record, joined);
      const outcome = await inHaloTerms(null, spec.fields, async () => {
        const merged = id === null ? { ...spec.defaults, ...body } : { ...(await visible(id, scope, joined)).body, ...body };
        // A reference posted as null clears it: the field is left out.
        for (const [key, value] of Object.entries(body)) if (value === null) delete merged[key];
        return id === null ? config.create(ctx, spec.type, merged, { scope }) : config.replace(ctx, spec.type, id, merged, { scope });
      });
      return outcome.entity!;
    },
    async remove(request, id) {
      const scope = scopeOf(request);
      await visible(id, scope);
      await services.config.remove(writeContext(request), spec.type, id, { scope });
    },
    ids: spec.ids,
    toHalo: spec.toHalo,
  });
}
