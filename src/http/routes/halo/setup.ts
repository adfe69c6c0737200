import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { DomainError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { EntityView } from '../../../tracking/config-service.js';
import { scopeOf, writeContext } from '../../plugins/auth.js';
import { configResource } from './config-resource.js';
import { globalIdField, haloResource, idField, inHaloTerms, nullableId, pageOfAll, present, referenceOf, str, uuidOfId, type HaloRecord } from './resource.js';

const num = (v: unknown) => (typeof v === 'number' ? v : null);

/** Halo's category type_id and the kind of Shiplog category it stands for. */
export const categoryKinds = ['ticket', 'resolution', 'asset', 'knowledge-base', 'service'] as const;
/** Units a priority's times may be posted in, as minutes. */
const minutesPer: Record<string, number> = { minutes: 1, hours: 60, days: 1440 };

interface PriorityView {
  key: string;
  sla: EntityView;
  item: { id: string; name: string; level: number; responseMinutes: number; resolutionMinutes: number };
}

/** `Status`, `TicketType`, `SLA`, `Priority` and `Category`: configuration, each save one tracked change. */
export const haloSetupRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    const ref = (record: HaloRecord, field: string, svc: Services) => (record[field] === undefined ? Promise.resolve(undefined) : referenceOf(svc, record[field], field));

    await app.register(
      configResource(services, {
        path: 'Status',
        one: 'Status',
        listKey: 'statuses',
        noun: 'ticket statuses',
        type: 'statuses',
        description: 'Ticket statuses (Halo’s TStatus record): type is 1 for a status that closes tickets, 0 otherwise.',
        record: z.object({ id: idField, shiplog_id: globalIdField, name: z.string(), colour: z.string().nullable(), sequence: z.number().int(), type: z.number().int() }),
        input: z.object({ name: z.string().optional(), colour: z.string().nullable().optional(), sequence: z.number().int().optional(), type: z.number().int().optional() }),
        fields: { isClosed: 'type' },
        defaults: { kind: 'ticket' },
        only: { field: 'kind', value: 'ticket' },
        toBody: async (r) => present({ name: r.name, colour: r.colour ?? undefined, sequence: r.sequence, isClosed: r.type === undefined ? undefined : r.type === 1 }),
        ids: (v) => [v.id],
        toHalo: (v, alias) => ({ id: alias(v.id), shiplog_id: v.id, name: v.name, colour: str(v.body.colour), sequence: num(v.body.sequence) ?? 0, type: v.body.isClosed ? 1 : 0 }),
      }),
    );

    await app.register(
      configResource(services, {
        path: 'TicketType',
        one: 'TicketType',
        listKey: 'tickettypes',
        noun: 'ticket types',
        type: 'ticket-types',
        description: 'Ticket types (Halo’s RequestType record).',
        record: z.object({ id: idField, shiplog_id: globalIdField, name: z.string(), workflow_id: nullableId, initial_status: nullableId }),
        input: z.object({ name: z.string().optional(), workflow_id: z.number().int().nullable().optional(), initial_status: z.number().int().nullable().optional() }),
        fields: { workflowId: 'workflow_id', defaultStatusId: 'initial_status' },
        toBody: async (r, svc) => present({ name: r.name, workflowId: await ref(r, 'workflow_id', svc), defaultStatusId: await ref(r, 'initial_status', svc) }),
        ids: (v) => [v.id, str(v.body.workflowId), str(v.body.defaultStatusId)],
        toHalo: (v, alias) => ({ id: alias(v.id), shiplog_id: v.id, name: v.name, workflow_id: alias(str(v.body.workflowId)), initial_status: alias(str(v.body.defaultStatusId)) }),
      }),
    );

    const policyRecord = z.object({
      id: z.string().describe('The priority’s integer id in UUID form (Halo’s Policy id is a UUID): 00000000-0000-4000-8000- and the integer in 12 digits'),
      slaid: idField,
      priorityid: z.number().int().describe('The level: 1 is the most urgent'),
      name: z.string(),
      responsetime: z.number(),
      responseunits: z.string(),
      fixtime: z.number(),
      fixunits: z.string(),
    });
    const policyOf = (sla: EntityView, alias: (id: string) => number | null) =>
      ((sla.body.priorities as PriorityView['item'][] | undefined) ?? []).map((p) => ({
        id: uuidOfId(alias(`${sla.id}/${p.id}`)!),
        slaid: alias(sla.id),
        priorityid: p.level,
        name: p.name,
        responsetime: p.responseMinutes,
        responseunits: 'minutes',
        fixtime: p.resolutionMinutes,
        fixunits: 'minutes',
      }));

    await app.register(
      configResource(services, {
        path: 'SLA',
        one: 'SLA',
        listKey: 'slas',
        noun: 'SLAs',
        type: 'slas',
        description: 'SLAs with their priorities (Halo’s SlaHead record).',
        record: z.object({ id: idField, shiplog_id: globalIdField, name: z.string(), workday_id: nullableId, priorities: z.array(policyRecord) }),
        input: z.object({ name: z.string().optional(), workday_id: z.number().int().nullable().optional() }),
        fields: { workdayId: 'workday_id' },
        toBody: async (r, svc) => present({ name: r.name, workdayId: await ref(r, 'workday_id', svc) }),
        ids: (v) => [v.id, str(v.body.workdayId), ...((v.body.priorities as { id: string }[] | undefined) ?? []).map((p) => `${v.id}/${p.id}`)],
        toHalo: (v, alias) => ({ id: alias(v.id), shiplog_id: v.id, name: v.name, workday_id: alias(str(v.body.workdayId)), priorities: policyOf(v, alias) }),
      }),
    );

    const slas = async (request: Parameters<typeof scopeOf>[0], svc = services) => (await svc.config.list('slas', { limit: 1000, scope: scopeOf(request) })).items;
    const priorityOf = async (request: Parameters<typeof scopeOf>[0], key: string, svc = services) => {
      const found = (await slas(request, svc)).flatMap(priorities).find((p) => p.key === key);
      if (!found) throw new DomainError('RECORD_NOT_FOUND', 'There is no such priority.', { id: key });
      return found;
    };
    const priorities = (sla: EntityView): PriorityView[] => ((sla.body.priorities as PriorityView['item'][] | undefined) ?? []).map((item) => ({ key: `${sla.id}/${item.id}`, sla, item }));
    const minutes = (value: unknown, units: unknown, field: string): number | undefined => {
      if (value === undefined) return undefined;
      const per = minutesPer[typeof units === 'string' ? units.toLowerCase() : 'minutes'];
      if (per === undefined) throw new DomainError('VALIDATION_FAILED', 'Unknown time units.', { errors: [{ path: field.replace('time', 'units'), code: 'invalid-value', message: 'Use minutes, hours or days.' }] });
      return Math.round((value as number) * per);
    };

    await app.register(
      haloResource<PriorityView>(services, {
        path: 'Priority',
        one: 'Priority',
        listKey: 'priorities',
        noun: 'priorities',
        description: 'The priorities of every SLA (Halo’s Policy record); saving one saves its SLA, one tracked change.',
        record: policyRecord,
        input: z.object({
          slaid: z.number().int().optional(),
          name: z.string().optional(),
          priorityid: z.number().int().optional(),
          responsetime: z.number().optional(),
          responseunits: z.string().optional(),
          fixtime: z.number().optional(),
          fixunits: z.string().optional(),
        }),
        read: 'config:read',
        edit: 'config:edit',
        orders: { id: 'key', name: 'name', priorityid: 'level' },
        defaultOrder: { by: 'position', desc: false },
        // Priorities live inside their SLAs, a bounded list: sorted and paged in memory.
        async list(request, args) {
          const all = (await slas(request)).flatMap(priorities);
          const position = new Map(all.map((p, i) => [p.key, i]));
          return pageOfAll(all, args, { id: (p) => p.key, key: (p) => p.key, position: (p) => position.get(p.key)!, name: (p) => p.item.name, level: (p) => p.item.level });
        },
        get: (request, key) => priorityOf(request, key),
        async save(request, record, key, svc) {
          const scope = scopeOf(request);
          const current = key === null ? null : await priorityOf(request, key, svc);
          const slaId = current?.sla.id ?? (await referenceOf(svc, record.slaid, 'slaid'));
          if (!slaId) throw new DomainError('VALIDATION_FAILED', 'Name the SLA of a new priority.', { errors: [{ path: 'slaid', code: 'required', message: 'The SLA’s integer id is required.' }] });
          const sla = current?.sla ?? (await svc.config.get('slas', slaId, { scope }));
          const item = {
            id: current?.item.id ?? newId(),
            ...current?.item,
            ...present({
              name: record.name,
              level: record.priorityid,
              responseMinutes: minutes(record.responsetime, record.responseunits, 'responsetime'),
              resolutionMinutes: minutes(record.fixtime, record.fixunits, 'fixtime'),
            }),
          } as PriorityView['item'];
          const list = (sla.body.priorities as PriorityView['item'][] | undefined) ?? [];
          const next = current ? list.map((p) => (p.id === item.id ? item : p)) : [...list, item];
          const fields = { priorities: 'priorityid', level: 'priorityid', name: 'name', responseMinutes: 'responsetime', resolutionMinutes: 'fixtime' };
          const saved = await inHaloTerms(null, fields, () => svc.config.replace(writeContext(request), 'slas', sla.id, { ...sla.body, priorities: next }, { scope }));
          return { key: `${sla.id}/${item.id}`, sla: saved.entity!, item };
        },
        async remove(request, key) {
          const { sla, item } = await priorityOf(request, key);
          const next = ((sla.body.priorities as PriorityView['item'][] | undefined) ?? []).filter((p) => p.id !== item.id);
          await inHaloTerms(null, { priorities: 'id' }, () => services.config.replace(writeContext(request), 'slas', sla.id, { ...sla.body, priorities: next }, { scope: scopeOf(request) }));
        },
        ids: (p) => [p.key, p.sla.id],
        toHalo: (p, alias) => ({
          id: uuidOfId(alias(p.key)!),
          slaid: alias(p.sla.id),
          priorityid: p.item.level,
          name: p.item.name,
          responsetime: p.item.responseMinutes,
          responseunits: 'minutes',
          fixtime: p.item.resolutionMinutes,
          fixunits: 'minutes',
        }),
      }),
    );

    await app.register(
      configResource(services, {
        path: 'Category',
        one: 'Category',
        listKey: 'categories',
        noun: 'categories',
        type: 'categories',
        description: 'Categories (Halo’s CategoryDetail record): type_id 1 ticket, 2 resolution, 3 asset, 4 knowledge base, 5 service.',
        record: z.object({ id: idField, shiplog_id: globalIdField, value: z.string(), category_name: z.string(), type_id: z.number().int() }),
        input: z.object({ value: z.string().optional(), category_name: z.string().optional(), type_id: z.number().int().min(1).max(categoryKinds.length).optional() }),
        fields: { name: 'value', kind: 'type_id' },
        nameFields: ['value', 'category_name'],
        defaults: { kind: 'ticket' },
        toBody: async (r) => present({ name: r.value ?? r.category_name, kind: typeof r.type_id === 'number' ? categoryKinds[r.type_id - 1] : undefined }),
        ids: (v) => [v.id],
        toHalo: (v, alias) => ({
          id: alias(v.id),
          shiplog_id: v.id,
          value: v.name,
          category_name: v.name,
          type_id: categoryKinds.indexOf(v.body.kind as (typeof categoryKinds)[number]) + 1,
        }),
      }),
    );
  };
