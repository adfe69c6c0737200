import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import type { Actor } from '../../../shared/actor.js';
import { DomainError } from '../../../shared/errors.js';
import type { HeldRequest } from '../../../sync/peer-client.js';
import type { ChangeBrief, PeerStatus, PeerView } from '../../../sync/sync-service.js';
import type { ChangeDetail } from '../../../tracking/change-log.js';
import { requestOrigin, scopeOf, writeContext } from '../../plugins/auth.js';
import { globalIdField, globalIdOf, haloBoolean, haloId, haloResource, idField, inHaloTerms, nullableId, pageOfAll, present, type AliasOf, type HaloRecord } from './resource.js';

/** A change as ConfigCommit shows it: from the change list, or from a peer's behind/ahead list. */
interface CommitView extends Omit<ChangeBrief, 'changeSet'> {
  actor: Actor | null;
  appliedFrom: string | null;
  revertOf: string | null;
  detail: ChangeDetail | null;
  /** A push's or rollback's outcome, in words. */
  warning?: string;
  /** The promotion request a push became where the receiver asks for approvals. */
  promotionRequest?: HeldRequest;
}

const commitRecord = z.object({
  id: idField,
  shiplog_id: globalIdField,
  timestamp: z.string(),
  source_instance_id: nullableId.describe('The instance the change was made on'),
  agent_id: nullableId,
  summary: z.string(),
  object_guid: z.string().describe('The global id of the entity changed'),
  operation: z.string().describe('create, update or delete'),
  is_merge: z.boolean().describe('Whether the change came from another instance or a file'),
  payload: z.string().optional().describe('With includedetails: the entity after the change, as JSON (secrets masked)'),
  original_json: z.string().optional().describe('With includedetails: the entity before the change, as JSON (secrets masked)'),
  rollback_operation: z.string().optional().describe('With includedetails: what rolling the change back does to the entity'),
  rollback_payload: z.string().optional().describe('With includedetails: the rollback script, as JSON'),
  _warning: z.string().optional(),
  _promotion_request: z
    .object({ id: z.string(), status: z.string(), approvals_required: z.number().int(), plan_digest: z.string() })
    .optional()
    .describe('After _push_to_instance_id into an instance that asks for approvals: the promotion request the push became there (nothing applied yet)'),
});
const commitInput = z.object({
  _rollback: z.boolean().optional().describe('true: roll back before this change (it and every later one), in one transaction'),
  _push_to_instance_id: z.number().int().optional().describe('Push this change (with the dependencies the instance lacks) to that linked instance'),
});

const instanceRecord = z.object({
  id: idField,
  shiplog_id: globalIdField.nullable(),
  hostname: z.string().nullable(),
  envname: z.string(),
  version: z.string().nullable(),
  commits_ahead: z.number().int().nullable().describe('Changes this instance has that the other lacks'),
  commits_behind: z.number().int().nullable().describe('Changes the other has that this instance lacks'),
  offline: z.boolean(),
  insync: z.boolean(),
  versionmatch: z.boolean().nullable(),
  canmerge: z.boolean(),
  nomergereason: z.string().nullable(),
  isself: z.boolean(),
  iscurrent: z.boolean(),
  isprod: z.boolean(),
  _restore_from_prod_result: z.string().optional(),
});

const connectedRecord = z.object({
  id: idField,
  name: z.string(),
  apiurl: z.string(),
  authurl: z.string(),
  clientid: z.string(),
  tenant: z.string().nullable(),
  _test_ok: z.boolean().optional(),
  _test_result: z.string().optional(),
});
const connectedInput = z.object({
  name: z.string().optional(),
  apiurl: z.string().optional(),
  authurl: z.string().optional(),
  clientid: z.string().optional(),
  new_clientsecret: z.string().optional(),
  _test: z.boolean().optional(),
});

type InstanceView = { self: true; status: null; peer: null; restored?: string } | { self: false; status: PeerStatus; peer: PeerView; restored?: string };
type ConnectedView = PeerView & { test?: { ok: boolean; result: string } };

/** Refuses a caller confined to some customers an operation over every customer's records, as the /v1 routes flagged so do. */
function everyCustomer(request: FastifyRequest): void {
  if (request.principal!.access.customers.kind !== 'all') {
    throw new DomainError('FORBIDDEN', 'This shows or moves records of every customer: an agent restricted to some customers cannot use it.', { reason: 'client-restrictions' });
  }
}

/** The alias key of a linked instance: its instance id once known. */
const peerKey = (peer: Pick<PeerView, 'instanceId' | 'name'>) => peer.instanceId ?? `peer:${peer.name}`;


/** `ConfigCommit`, `Instance` and `ConnectedInstance`: Halo's configuration tracking over Shiplog's change log and sync. */
export const haloTrackingRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    const { changeLog, sync } = services;

    /** The linked instance an integer instance id stands for (null for this instance). */
    async function peerOf(alias: unknown, field: string): Promise<PeerView | null> {
      const id = await globalIdOf(services, Number(alias), 'instance').catch(() => {
        throw new DomainError('REFERENCE_NOT_FOUND', `${field} names no instance.`, { errors: [{ path: field, code: 'reference-not-found', message: `No instance has id ${String(alias)}.` }] });
      });
      if (id === services.instance.id) return null;
      const peer = (await sync.list()).find((p) => peerKey(p) === id);
      if (!peer) throw new DomainError('REFERENCE_NOT_FOUND', `${field} names no linked instance.`, { errors: [{ path: field, code: 'reference-not-found', message: `No linked instance has id ${String(alias)}.` }] });
      return peer;
    }

    const fromDetail = (d: ChangeDetail): CommitView => ({ ...d, detail: d });
    const withDetails = async (request: FastifyRequest, views: CommitView[], wanted: unknown): Promise<CommitView[]> =>
      wanted === true ? Promise.all(views.map(async (v) => v.detail ? v : fromDetail(await changeLog.detail(v.id, scopeOf(request))))) : views;

    const json = (value: unknown) => JSON.stringify(value ?? null);
    const commitToHalo = (c: CommitView, alias: AliasOf): HaloRecord => ({
      id: alias(c.id),
      shiplog_id: c.id,
      timestamp: c.at,
      source_instance_id: alias(c.origin),
      agent_id: c.actor?.kind === 'agent' ? alias(c.actor.id) : null,
      summary: `${c.op} ${c.type} "${c.entityName}"${c.revertOf ? ' (rollback)' : ''}`,
      object_guid: c.entityId,
      operation: c.op,
      is_merge: c.appliedFrom !== null,
      ...(c.detail
        ? {
            payload: json(c.detail.after),
            original_json: json(c.detail.before),
            rollback_operation: c.detail.rollbackScript[0]?.op ?? '',
            rollback_payload: json(c.detail.rollbackScript),
          }
        : {}),
      ...(c.warning ? { _warning: c.warning } : {}),
      ...(c.promotionRequest
        ? {
            _promotion_request: {
              id: c.promotionRequest.id,
              status: c.promotionRequest.status,
              approvals_required: c.promotionRequest.approvalsRequired,
              plan_digest: c.promotionRequest.planDigest,
            },
          }
        : {}),
    });

    await app.register(
      haloResource<CommitView, 'seq'>(services, {
        path: 'ConfigCommit',
        one: 'ConfigCommit',
        listKey: 'configcommits',
        noun: 'configuration changes',
        description:
          'The change list, newest first. notin_instance_id: the changes this instance has that that linked instance lacks (what a push sends); instance_id: the changes that instance has that this one lacks (what a pull brings), or with this instance’s id the whole list.',
        record: commitRecord,
        input: commitInput,
        separately: true,
        read: 'config:read',
        edit: 'config:read',
        filters: { instance_id: haloId.optional(), notin_instance_id: haloId.optional(), includedetails: haloBoolean.optional() },
        getQuery: { includedetails: haloBoolean.optional() },
        orders: { id: 'seq', timestamp: 'seq' },
        defaultOrder: { by: 'seq', desc: true },
        async list(request, { offset, limit, order, search, query }) {
          const against = query.notin_instance_id ?? query.instance_id;
          const peer = against === undefined ? null : await peerOf(against, query.notin_instance_id !== undefined ? 'notin_instance_id' : 'instance_id');
          if (peer) {
            // What another instance has or lacks spans every customer's records, as /v1/instances/{name}/status does.
            everyCustomer(request);
            const status = await sync.status(peer.name, { list: true });
            const briefs = (query.notin_instance_id !== undefined ? status.aheadChanges : status.behindChanges) ?? [];
            const views = briefs.map((b): CommitView => ({ ...b, actor: null, appliedFrom: null, revertOf: null, detail: null }));
            const { items, total } = pageOfAll(views, { offset, limit, order }, { id: (c) => c.id, seq: (c) => c.at });
            return { items: await withDetails(request, items, query.includedetails), total };
          }
          if (query.notin_instance_id !== undefined) return { items: [], total: 0 };
          const { items, total } = await changeLog.page({ ...(search ? { nameContains: search } : {}), scope: scopeOf(request) }, { ...order, offset, limit });
          const views = items.map((c): CommitView => ({ ...c, detail: null }));
          return { items: await withDetails(request, views, query.includedetails), total };
        },
        async get(request, id, query) {
          const detail = await changeLog.detail(id, scopeOf(request));
          return query.includedetails === true ? fromDetail(detail) : { ...detail, detail: null };
        },
        async save(request, record, id) {
          const principal = request.principal!;
          if (id === null) throw new DomainError('VALIDATION_FAILED', 'Changes are recorded by saving configuration, never posted.', { errors: [{ path: 'id', code: 'required', message: 'Name the change to roll back or push.' }] });
          const detail = await changeLog.detail(id, scopeOf(request));
          // The action, not the route, says which permission it needs: refusals are audited as the route's are.
          const need = async (permission: 'changes:rollback' | 'config:push') => {
            if (principal.permissions.has(permission)) return;
            await services.audit.record({
              kind: 'access.denied',
              outcome: 'denied',
              actor: principal.actor,
              request: requestOrigin(request),
              subject: `${request.method} ${request.routeOptions.url ?? request.url}`,
              details: { permission, agentId: principal.agent.id, application: principal.application?.clientId ?? null },
            });
            throw new DomainError('FORBIDDEN', `This needs the "${permission}" permission.`, { permission });
          };
          if (record._rollback === true) {
            await need('changes:rollback');
            const result = await services.rollback.rollbackBefore(writeContext(request), id, { dryRun: false, scope: scopeOf(request) });
            return { ...fromDetail(detail), warning: `Rolled back ${result.counts.changes} change(s) on ${result.counts.entities} entit(ies).` };
          }
          if (record._push_to_instance_id !== undefined) {
            await need('config:push');
            everyCustomer(request);
            const peer = await peerOf(record._push_to_instance_id, '_push_to_instance_id');
            if (!peer) throw new DomainError('VALIDATION_FAILED', 'An instance cannot push to itself.', { errors: [{ path: '_push_to_instance_id', code: 'self', message: 'Name a linked instance.' }] });
            const agent = principal.agent;
            const plan = await sync.push(writeContext(request), peer.name, { changeIds: [id], requester: { agentId: agent.id, name: agent.name, email: agent.email } });
            if (plan.request) {
              return {
                ...fromDetail(detail),
                warning: `${peer.name} asks for ${plan.request.approvalsRequired} approval(s): promotion request ${plan.request.id} holds ${plan.counts.toApply} change(s), nothing applied yet.`,
                promotionRequest: plan.request,
              };
            }
            return { ...fromDetail(detail), warning: `Pushed to ${peer.name}: ${plan.counts.toApply} change(s) applied, ${plan.counts.alreadyPresent} already present.` };
          }
          return fromDetail(detail);
        },
        ids: (c) => [c.id, c.origin, c.actor?.kind === 'agent' ? c.actor.id : null],
        toHalo: commitToHalo,
      }),
    );

    async function instances(): Promise<InstanceView[]> {
      const peers = await sync.list();
      const statuses = await Promise.all(peers.map((p) => sync.status(p.name, { list: false })));
      return [{ self: true, status: null, peer: null }, ...statuses.map((status, i) => ({ self: false as const, status, peer: peers[i]! }))];
    }
    const instanceKey = (v: InstanceView) => (v.self ? services.instance.id : peerKey(v.peer));
    const noMergeReason = (s: PeerStatus): string | null => {
      if (!s.reachable) return 'The instance cannot be reached.';
      if (s.versionMatches === false) return `The versions differ: ${services.instance.version} here, ${s.version ?? 'unknown'} there.`;
      return null;
    };

    await app.register(
      haloResource<InstanceView>(services, {
        path: 'Instance',
        one: 'Instance',
        listKey: 'instances',
        noun: 'instances',
        description: 'This instance (isself) and the instances linked to it, with behind/ahead counts and whether they are in sync. _restore_from_prod restores this instance from the linked production instance.',
        record: instanceRecord,
        input: z.object({ _restore_from_prod: z.boolean().optional() }),
        separately: true,
        read: 'config:read',
        edit: 'config:push',
        everyCustomer: true,
        orders: { id: 'key', envname: 'name' },
        defaultOrder: { by: 'position', desc: false },
        list: async (_request, args) => {
          const all = await instances();
          const position = new Map(all.map((v, i) => [v, i]));
          return pageOfAll(all, args, { id: instanceKey, key: instanceKey, name: (v) => (v.self ? services.instance.name : v.peer.name), position: (v) => position.get(v)! });
        },
        async get(_request, id) {
          const found = (await instances()).find((v) => instanceKey(v) === id);
          if (!found) throw new DomainError('RECORD_NOT_FOUND', 'There is no such instance.', { id });
          return found;
        },
        async save(request, record, id) {
          if (id === null) throw new DomainError('VALIDATION_FAILED', 'Instances are linked through ConnectedInstance.', { errors: [{ path: 'id', code: 'required', message: 'Name an instance.' }] });
          const view = await this.get(request, id, {});
          if (record._restore_from_prod !== true) return view;
          const from = view.self ? (await instances()).find((v) => !v.self && v.status.kind === 'production') : view;
          if (!from || from.self || from.status.kind !== 'production') {
            throw new DomainError('VALIDATION_FAILED', 'There is no linked production instance to restore from.', { errors: [{ path: '_restore_from_prod', code: 'no-production', message: 'Link the production instance first.' }] });
          }
          const ctx = writeContext(request);
          const plan = await sync.restore(ctx, { scope: 'instance', confirm: false, dryRun: true, from: from.peer.name });
          const done = await sync.restore(ctx, { scope: 'instance', confirm: true, dryRun: false, from: from.peer.name, fingerprint: plan.fingerprint });
          return { ...view, restored: done.restored ? `Restored from ${from.peer.name}.` : `Not restored from ${from.peer.name}.` };
        },
        ids: (v) => [instanceKey(v)],
        toHalo: (v, alias) =>
          v.self
            ? {
                id: alias(services.instance.id),
                shiplog_id: services.instance.id,
                hostname: services.publicUrl?.host ?? null,
                envname: services.instance.name,
                version: services.instance.version,
                commits_ahead: null,
                commits_behind: null,
                offline: false,
                insync: true,
                versionmatch: true,
                canmerge: false,
                nomergereason: 'This is this instance.',
                isself: true,
                iscurrent: true,
                isprod: services.instance.kind === 'production',
                ...(v.restored ? { _restore_from_prod_result: v.restored } : {}),
              }
            : {
                id: alias(peerKey(v.peer)),
                shiplog_id: v.peer.instanceId,
                hostname: new URL(v.peer.url).host,
                envname: v.peer.name,
                version: v.status.version,
                commits_ahead: v.status.ahead,
                commits_behind: v.status.behind,
                offline: !v.status.reachable,
                insync: v.status.inSync,
                versionmatch: v.status.versionMatches,
                canmerge: noMergeReason(v.status) === null,
                nomergereason: noMergeReason(v.status),
                isself: false,
                iscurrent: false,
                isprod: v.status.kind === 'production',
              },
      }),
    );

    async function test(view: PeerView): Promise<ConnectedView> {
      const status = await sync.status(view.name, { list: false });
      const result = !status.reachable ? 'The instance cannot be reached with these credentials.' : status.reasons.length > 0 ? status.reasons.join(' ') : 'Connected.';
      return { ...view, test: { ok: status.reachable, result } };
    }

    await app.register(
      haloResource<ConnectedView>(services, {
        path: 'ConnectedInstance',
        one: 'ConnectedInstance',
        listKey: 'connectedinstances',
        noun: 'linked instances',
        description: 'Links to other instances, made with the client id and secret of an API application there (the secret is stored encrypted, never returned). _test checks the link.',
        record: connectedRecord,
        input: connectedInput,
        separately: true,
        read: 'config:read',
        edit: 'config:push',
        orders: { id: 'key', name: 'name' },
        defaultOrder: { by: 'position', desc: false },
        list: async (_request, args) => {
          const all = await sync.list();
          const position = new Map(all.map((p, i) => [p, i]));
          return pageOfAll<ConnectedView, string>(all, args, { id: peerKey, key: peerKey, name: (p) => p.name, position: (p) => position.get(p)! });
        },
        async get(_request, id) {
          const peer = (await sync.list()).find((p) => peerKey(p) === id);
          if (!peer) throw new DomainError('RECORD_NOT_FOUND', 'There is no such linked instance.', { id });
          return peer;
        },
        async save(request, record, id) {
          const ctx = writeContext(request);
          const fields = { url: record.apiurl, clientId: record.clientid, clientSecret: record.new_clientsecret };
          const names = { url: 'apiurl', clientId: 'clientid', clientSecret: 'new_clientsecret' };
          const name = id === null ? null : (await this.get(request, id, {})).name;
          const saved = await inHaloTerms(null, names, () => (name === null ? sync.link(ctx, { name: record.name, ...fields }) : sync.update(ctx, name, present(fields))));
          return record._test === true ? test(saved) : saved;
        },
        async remove(request, id) {
          await sync.remove(writeContext(request), (await this.get(request, id, {})).name);
        },
        ids: (p) => [peerKey(p)],
        toHalo: (p, alias) => ({
          id: alias(peerKey(p)),
          name: p.name,
          apiurl: p.url,
          authurl: `${p.url}/auth/token`,
          clientid: p.clientId,
          tenant: null,
          ...(p.test ? { _test_ok: p.test.ok, _test_result: p.test.result } : {}),
        }),
      }),
    );
  };
