import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import type { EntitySortKey } from '../../../store/ports.js';
import { DomainError } from '../../../shared/errors.js';
import type { EntityView } from '../../../tracking/config-service.js';
import { writeContext } from '../../plugins/auth.js';
import { configResource } from './config-resource.js';
import { entityNames } from './names.js';
import { globalIdField, haloId, haloResource, idField, inHaloTerms, nullableId, present, referenceOf, str, type HaloRecord } from './resource.js';


const fieldValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const assetRecord = z.object({
  id: idField,
  shiplog_id: globalIdField,
  inventory_number: z.string().describe('The asset’s name'),
  key_field: z.string().describe('The asset’s name'),
  client_id: nullableId,
  assettype_id: nullableId,
  assettype_name: z.string().nullable(),
  fields: z.array(z.object({ name: z.string(), value: fieldValue })).describe('Asset field values, by field name'),
  users: z.array(z.object({ id: nullableId })).describe('The users linked to the asset'),
  business_owner_id: nullableId,
  technical_owner_id: nullableId,
  inactive: z.boolean(),
});
const assetInput = z.object({
  inventory_number: z.string().optional(),
  key_field: z.string().optional(),
  client_id: z.number().int().nullable().optional(),
  assettype_id: z.number().int().optional(),
  fields: z.array(z.object({ name: z.string().max(100), value: fieldValue }).loose()).max(1000).optional().describe('Values to set, by field name; fields not sent keep theirs'),
  users: z.array(z.object({ id: z.number().int() }).loose()).max(1000).optional(),
  business_owner_id: z.number().int().nullable().optional(),
  technical_owner_id: z.number().int().nullable().optional(),
});
const assetFields = { name: 'inventory_number', assetTypeId: 'assettype_id', customerId: 'client_id', fields: 'fields', userIds: 'users', businessOwnerId: 'business_owner_id', technicalOwnerId: 'technical_owner_id' };

type AssetWithType = EntityView & { typeName: string | null };

/** `Asset` and `AssetType`: assets through the asset service (client restrictions apply), asset types as configuration. */
export const haloAssetRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    const { assets } = services;
    const ref = (record: HaloRecord, field: string, svc: Services) => (record[field] === undefined ? Promise.resolve(undefined) : referenceOf(svc, record[field], field));
    const withTypes = async (views: EntityView[], svc = services): Promise<AssetWithType[]> => {
      const names = await entityNames(svc, 'asset-types', views.map((v) => str(v.body.assetTypeId)), { batch: svc !== services });
      return views.map((v) => ({ ...v, typeName: names.get(str(v.body.assetTypeId) ?? '') ?? null }));
    };

    async function bodyOf(svc: Services, record: HaloRecord, current: Record<string, unknown> | null): Promise<Record<string, unknown>> {
      const posted = record.fields as { name: string; value: unknown }[] | undefined;
      const users = record.users as { id: number }[] | undefined;
      const userIds = users ? await Promise.all(users.map((u, i) => referenceOf(svc, u.id, `users[${i}].id`))) : undefined;
      const owner = async (field: string) => {
        const id = await ref(record, field, svc);
        return id === undefined ? undefined : (id ?? undefined);
      };
      const name = record.inventory_number ?? record.key_field;
      const body: Record<string, unknown> = {
        ...current,
        ...present({
          name,
          assetTypeId: (await ref(record, 'assettype_id', svc)) ?? undefined,
          customerId: await ref(record, 'client_id', svc),
          userIds: userIds?.filter((id): id is string => id !== null),
          businessOwnerId: await owner('business_owner_id'),
          technicalOwnerId: await owner('technical_owner_id'),
          fields: posted ? { ...(current?.fields as Record<string, unknown> | undefined), ...Object.fromEntries(posted.map((f) => [f.name, f.value])) } : undefined,
        }),
      };
      // Cleared references are left out, as the asset schema has no nulls for them.
      for (const key of ['customerId', 'businessOwnerId', 'technicalOwnerId']) if (body[key] === null) delete body[key];
      return body;
    }

    async function saveAsset(svc: Services, request: FastifyRequest, record: HaloRecord, id: string | null): Promise<EntityView> {
      const principal = request.principal!;
      const ctx = writeContext(request);
      const current = id === null ? null : await svc.assets.get(principal, id);
      const body = await bodyOf(svc, record, current?.body ?? null);
      const outcome = await inHaloTerms(null, assetFields, () => (id === null ? svc.assets.create(ctx, principal, body) : svc.assets.replace(ctx, principal, id, body)));
      if (!outcome.entity) throw new DomainError('ASSET_NOT_FOUND', 'The asset was not saved.', { id });
      return outcome.entity;
    }

    await app.register(
      haloResource<AssetWithType, EntitySortKey>(services, {
        path: 'Asset',
        one: 'Asset',
        listKey: 'assets',
        noun: 'assets',
        description: 'Assets of the customers the caller may see (Halo’s Device record); a service or business application is tracked configuration.',
        record: assetRecord,
        input: assetInput,
        read: 'assets:read',
        edit: 'assets:edit',
        filters: { client_id: haloId.optional() },
        orders: { id: 'id', inventory_number: 'name', key_field: 'name' },
        defaultOrder: { by: 'id', desc: false },
        async list(request, { offset, limit, order, search, query }) {
          const customerId = query.client_id === undefined ? null : await referenceOf(services, query.client_id, 'client_id');
          const { items, total } = await assets.page(request.principal!, { ...(search ? { q: search } : {}), ...(customerId ? { customerId } : {}) }, { ...order, offset, limit });
          return { items: await withTypes(items), total };
        },
        get: async (request, id) => (await withTypes([await assets.get(request.principal!, id)]))[0]!,
        save: async (request, record, id, svc) => (await withTypes([await saveAsset(svc, request, record, id)], svc))[0]!,
        async remove(request, id) {
          await assets.remove(writeContext(request), request.principal!, id);
        },
        ids: (v) => [v.id, str(v.body.customerId), str(v.body.assetTypeId), str(v.body.businessOwnerId), str(v.body.technicalOwnerId), ...((v.body.userIds as string[] | undefined) ?? [])],
        toHalo: (v, alias) => ({
          id: alias(v.id),
          shiplog_id: v.id,
          inventory_number: v.name,
          key_field: v.name,
          client_id: alias(str(v.body.customerId)),
          assettype_id: alias(str(v.body.assetTypeId)),
          assettype_name: v.typeName,
          fields: Object.entries((v.body.fields as Record<string, string | number | boolean | null> | undefined) ?? {}).map(([name, value]) => ({ name, value })),
          users: ((v.body.userIds as string[] | undefined) ?? []).map((id) => ({ id: alias(id) })),
          business_owner_id: alias(str(v.body.businessOwnerId)),
          technical_owner_id: alias(str(v.body.technicalOwnerId)),
          inactive: false,
        }),
      }),
    );

    await app.register(
      configResource(services, {
        path: 'AssetType',
        one: 'AssetType',
        listKey: 'assettypes',
        noun: 'asset types',
        type: 'asset-types',
        description: 'Asset types (Halo’s Xtype record).',
        record: z.object({ id: idField, shiplog_id: globalIdField, name: z.string(), assetgroup_id: nullableId, memo: z.string().nullable() }),
        input: z.object({ name: z.string().optional(), assetgroup_id: z.number().int().nullable().optional(), memo: z.string().nullable().optional() }),
        fields: { assetGroupId: 'assetgroup_id', description: 'memo' },
        toBody: async (r, svc) => present({ name: r.name, assetGroupId: await ref(r, 'assetgroup_id', svc), description: r.memo }),
        ids: (v) => [v.id, str(v.body.assetGroupId)],
        toHalo: (v, alias) => ({ id: alias(v.id), shiplog_id: v.id, name: v.name, assetgroup_id: alias(str(v.body.assetGroupId)), memo: str(v.body.description) }),
      }),
    );
  };
