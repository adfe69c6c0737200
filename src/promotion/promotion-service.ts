import type { AuditLog } from '../access/audit-log.js';
import { agentAccess } from '../access/agent-access.js';
import type { Catalog } from '../catalog/catalog.js';
import { queueWebhookEvent, type PromotionEvent } from '../desk/webhooks.js';
import type { WriteContext } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { isoTime } from '../shared/iso-time.js';
import { parseOrThrow } from '../shared/validation.js';
import type { InstanceIdentity, Stores, Transactor } from '../store/ports.js';
import type { WriteGuard } from '../tracking/change-writer.js';
import { diffBodies, type FieldDiff } from '../tracking/body-diff.js';
import type { SecretBox } from '../tracking/secret-box.js';
import { changedSecrets, maskSecrets } from '../tracking/secrets.js';
import { readSettings } from '../tracking/settings-service.js';
import { applyBatch } from '../sync/apply-batch.js';
import type { HeldRequest, ReceiveRequest } from '../sync/peer-client.js';
import { createReceivedChecks } from '../sync/received-change.js';
import type { PromotionHold } from '../sync/sync-receiver.js';
import { refuse, type BatchOutcome, type SyncProblem } from '../sync/transfer.js';
import { closedReason, POLICY_KEY, promotionPolicyPatchSchema, readPolicy, type PromotionPolicy } from './promotion-policy.js';
import {
  contextOf,
  countingApprovals,
  finalStatuses,
  headsOf,
  heldChanges,
  movedSince,
  packedHeld,
  planDigestOf,
  requestSummary,
  requestView,
  samePerson,
  storedContext,
  type HeldBatch,
  type Person,
  type PlanHeads,
  type PromotionRequestDocument,
  type PromotionRequestSummary,
  type PromotionRequestView,
  type RequestStatus,
} from './promotion-request.js';

export interface PromotionService extends PromotionHold {
  policy(): Promise<PromotionPolicy>;
  /** Administrators only; each field changed is audited. */
  updatePolicy(ctx: WriteContext, patch: unknown): Promise<PromotionPolicy>;
  list(filter: { statuses?: RequestStatus[]; beforeId?: string; limit: number }): Promise<PromotionRequestSummary[]>;
  get(id: string): Promise<PromotionRequestView>;
  /** Each entity the held batch writes, before its first change and after its last, field by field (secrets masked). */
  diffs(id: string): Promise<EntityDiff[]>;
  approve(ctx: WriteContext, by: Person, id: string, comment: string): Promise<PromotionRequestView>;
  reject(ctx: WriteContext, by: Person, id: string, comment: string): Promise<PromotionRequestView>;
  /** Applies an approved request now, in one transaction, only if nothing it was planned against moved; else it goes stale. */
  apply(ctx: WriteContext, by: Person, id: string, options: { bypassReason?: string }): Promise<PromotionRequestView>;
  /** Has the instance apply an approved request at `at` (null: not any more). */
  schedule(ctx: WriteContext, by: Person, id: string, at: number | null): Promise<PromotionRequestView>;
  cancel(ctx: WriteContext, by: Person, id: string, reason: string): Promise<PromotionRequestView>;
  /** Plans the request again against the target as it is now (without the changes named): every earlier verdict is revoked. */
  replan(ctx: WriteContext, by: Person, id: string, edit: { removeChangeIds?: string[]; description?: string }): Promise<PromotionRequestView>;
  /** Applies the scheduled requests whose time has come (the instance's scheduler); answers how many it looked at. */
  runDue(): Promise<number>;
}

export interface EntityDiff {
  type: string;
  entityId: string;
  name: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  diff: FieldDiff[];
  secretsChanged: string[];
}

export interface PromotionDeps {
  db: Transactor;
  catalog: Catalog;
  box: SecretBox;
  clock: Clock;
  instance: InstanceIdentity;
  audit: AuditLog;
  guards?: readonly WriteGuard[];
  /** Told when notifications were queued (the dispatcher sends them). */
  onQueued?: () => void;
}

const shiplog: Person = { agentId: null, name: 'Shiplog', email: null };
const MAX_TIMELINE = 1_000;

/** A batch checked again and rolled back: its outcome and the heads read before it. */
class Replanned extends Error {
  constructor(
    readonly outcome: BatchOutcome,
    readonly heads: PlanHeads,
  ) {
    super('replanned');
  }
}

/** A use case's decision, written with the request in the same transaction, and thrown once it committed. */
type Verdict = { view: PromotionRequestView; error?: DomainError };

export function createPromotionService(deps: PromotionDeps): PromotionService {
  const { db, catalog, clock, instance, audit } = deps;
  const checks = createReceivedChecks({ catalog, box: deps.box, instanceId: instance.id, clock });

  const docOf = (row: { document: unknown; plan: unknown }) => ({ ...(row.document as object), plan: row.plan }) as PromotionRequestDocument;
  /** The row of a request: its plan apart, written only when it is created or re-planned. */
  const rowOf = (doc: PromotionRequestDocument) => {
    const { plan, ...document } = doc;
    return { row: { id: doc.id, status: doc.status, scheduledAt: doc.scheduledAt, createdAt: doc.createdAt, updatedAt: doc.updatedAt, document }, plan };
  };

  async function load(stores: Stores, id: string): Promise<PromotionRequestDocument> {
    const row = await stores.promotionRequests.find(id);
    if (!row) throw new DomainError('PROMOTION_REQUEST_NOT_FOUND', `No promotion request has id ${id}.`);
    return docOf(row);
  }

  /** Writes the request's document; its plan (and batch) too when it was re-planned. */
  async function save(stores: Stores, doc: PromotionRequestDocument, replanned?: { batch?: HeldBatch }): Promise<void> {
    doc.updatedAt = clock.now();
    if (doc.timeline.length > MAX_TIMELINE) doc.timeline = doc.timeline.slice(-MAX_TIMELINE);
    const { row, plan } = rowOf(doc);
    await stores.promotionRequests.update(replanned ? { ...row, plan } : row, replanned?.batch);
  }

  const event = (doc: PromotionRequestDocument, kind: string, by: Person | null, message: string) => doc.timeline.push({ at: clock.now(), kind, by, message });

  /** Agents who may approve here: their addresses are told of every step, with the requester's. */
  async function approverAddresses(stores: Stores): Promise<string[]> {
    const settings = await readSettings(stores);
    const out: string[] = [];
    for (const agent of await stores.agents.list({ limit: 1_000_000 })) {
      if (agent.disabled || agent.apiOnly) continue;
      if ((await agentAccess(stores, agent, settings)).permissions.has('promotions:approve')) out.push(agent.email);
    }
    return out;
  }

  async function notify(stores: Stores, doc: PromotionRequestDocument, kind: PromotionEvent, message: string): Promise<void> {
    const policy = await readPolicy(stores);
    const recipients = [...new Set([...(doc.requester.email ? [doc.requester.email] : []), ...(await approverAddresses(stores))])];
    const queued = await queueWebhookEvent(stores, instance, clock.now(), kind, doc.id, {
      promotion: { ...requestSummary(doc, policy.approvalsRequired), message },
      recipients,
    });
    if (queued > 0) deps.onQueued?.();
  }

  async function audited(stores: Stores, ctx: WriteContext, kind: string, doc: PromotionRequestDocument, details: Record<string, unknown> = {}): Promise<void> {
    await audit.recordIn(stores, { kind, outcome: 'success', actor: ctx.actor, request: ctx.request, subject: doc.id, details: { from: doc.from.name, revision: doc.revision, ...details } });
  }

  async function viewIn(stores: Stores, doc: PromotionRequestDocument): Promise<PromotionRequestView> {
    return requestView(doc, (await readPolicy(stores)).approvalsRequired);
  }

  function open(doc: PromotionRequestDocument, allowed: readonly RequestStatus[], action: string): void {
    if (!allowed.includes(doc.status)) {
      throw new DomainError('REQUEST_NOT_OPEN', `Request ${doc.id} is ${doc.status}: it cannot be ${action}.`, { status: doc.status });
    }
  }

  /** Runs a use case in one transaction; a refusal decided in it is thrown after the request's new state committed. */
  async function decide(run: (stores: Stores) => Promise<Verdict>): Promise<PromotionRequestView> {
    const verdict = await db.write(run);
    if (verdict.error) throw verdict.error;
    return verdict.view;
  }

  /** Holder of the request, or an approver: who may change or withdraw it. */
  function mayChange(ctx: WriteContext, by: Person, doc: PromotionRequestDocument): void {
    if (samePerson(by, doc.requester) || ctx.authority.isAdministrator || ctx.authority.permissions.has('promotions:approve')) return;
    throw new DomainError('FORBIDDEN', 'Only the requester or an approver (promotions:approve) may change or cancel a request.', { permission: 'promotions:approve' });
  }

  /** Checks the batch and, when it has no problem, writes it in the caller's transaction, as the requester's. */
  function applyHeld(stores: Stores, batch: HeldBatch, operation: PromotionRequestDocument['operation']): Promise<BatchOutcome> {
    const ctx = contextOf(batch.ctx);
    return applyBatch(stores, { catalog, checks, instanceId: instance.id, guards: deps.guards ?? [] }, heldChanges(batch), {
      appliedFrom: batch.sender.instanceId,
      receipt: { actor: ctx.actor, operation, via: batch.via, at: clock.now() },
      allowMissing: new Set(batch.allowMissing),
      ctx,
      records: batch.records,
    });
  }

  /**
   * Applies the request's batch in the caller's transaction, exactly as approved: its plan digest is checked against
   * the batch held, then every head the plan read; a target that moved makes the request stale (or suspended, when
   * the instance applies it on schedule) and nothing of the batch is written.
   */
  async function applyIn(stores: Stores, doc: PromotionRequestDocument, by: Person, scheduled: boolean): Promise<DomainError | undefined> {
    const batch = (await stores.promotionRequests.batchOf(doc.id)) as HeldBatch;
    if (planDigestOf(batch, doc.heads) !== doc.planDigest) throw new Error(`promotion request ${doc.id}: its batch no longer matches its plan digest`);
    const moved = await movedSince(stores, doc.heads);
    if (moved.length > 0) {
      const names = moved.slice(0, 10).join(', ');
      doc.status = scheduled ? 'suspended' : 'stale';
      doc.reason = `The target moved since the plan: ${moved.length} entit${moved.length === 1 ? 'y' : 'ies'} it reads changed here (${names}${moved.length > 10 ? ', …' : ''}). Re-plan to approve it again.`;
      doc.scheduledAt = null;
      event(doc, doc.status, by, doc.reason);
      await notify(stores, doc, 'promotion.stale', doc.reason);
      await save(stores, doc);
      return new DomainError('REQUEST_STALE', `Nothing was written. ${doc.reason}`, { moved, request: await viewIn(stores, doc) });
    }
    const ctx = contextOf(batch.ctx);
    const outcome = await applyHeld(stores, batch, doc.operation);
    if (outcome.problems.length > 0) {
      doc.status = 'failed';
      doc.reason = `Nothing was written: ${outcome.problems.map((p) => p.message).slice(0, 5).join(' ')}`;
      doc.scheduledAt = null;
      event(doc, 'failed', by, doc.reason);
      await notify(stores, doc, 'promotion.failed', doc.reason);
      await save(stores, doc);
      return new DomainError('REQUEST_FAILED', doc.reason, { problems: outcome.problems, request: await viewIn(stores, doc) });
    }
    doc.status = 'applied';
    doc.appliedAt = clock.now();
    doc.scheduledAt = null;
    doc.reason = null;
    event(doc, 'applied', by, `Applied ${outcome.counts.toApply} change${outcome.counts.toApply === 1 ? '' : 's'} to ${outcome.counts.entities} entit${outcome.counts.entities === 1 ? 'y' : 'ies'}.`);
    await audit.recordIn(stores, {
      kind: `sync.${doc.operation}-received`,
      outcome: 'success',
      actor: ctx.actor,
      request: ctx.request,
      subject: batch.sender.name,
      details: { from: { instanceId: batch.sender.instanceId, name: batch.sender.name }, applied: outcome.counts.toApply, alreadyPresent: outcome.counts.alreadyPresent, promotionRequest: doc.id },
    });
    await notify(stores, doc, 'promotion.applied', `Applied to ${instance.name}.`);
    await save(stores, doc);
    return undefined;
  }

  /** Whether the request has what applying needs: enough distinct approvals of its current plan. */
  function approvalsProblem(doc: PromotionRequestDocument, policy: PromotionPolicy): DomainError | null {
    const count = countingApprovals(doc).length;
    if (count >= policy.approvalsRequired) return null;
    return new DomainError('NOT_APPROVED', `Request ${doc.id} has ${count} of the ${policy.approvalsRequired} approvals ${instance.name} asks for.`, {
      approvals: count,
      approvalsRequired: policy.approvalsRequired,
    });
  }

  async function review(ctx: WriteContext, by: Person, id: string, verdict: 'approve' | 'reject', comment: string): Promise<PromotionRequestView> {
    return decide(async (stores) => {
      const doc = await load(stores, id);
      const policy = await readPolicy(stores);
      open(doc, ['pending', 'approved', 'scheduled'], verdict === 'approve' ? 'approved' : 'rejected');
      if (!policy.allowSelfApproval && samePerson(by, doc.requester)) {
        throw new DomainError('SELF_APPROVAL_REFUSED', `${by.name} asked for this request; ${instance.name}'s policy does not let a requester ${verdict} their own.`);
      }
      if (doc.reviews.some((r) => r.revokedAt === null && r.planDigest === doc.planDigest && samePerson(r.by, by))) {
        throw new DomainError('ALREADY_REVIEWED', `${by.name} already reviewed this plan; one agent counts once.`);
      }
      doc.reviews.push({ by, verdict, comment, at: clock.now(), planDigest: doc.planDigest, revokedAt: null });
      if (verdict === 'reject') {
        doc.status = 'rejected';
        doc.scheduledAt = null;
        event(doc, 'rejected', by, comment ? `Rejected: ${comment}` : 'Rejected.');
        await notify(stores, doc, 'promotion.rejected', comment);
      } else {
        const count = countingApprovals(doc).length;
        event(doc, 'approved', by, `Approved (${count} of ${policy.approvalsRequired})${comment ? `: ${comment}` : '.'}`);
        if (doc.status === 'pending' && count >= policy.approvalsRequired) doc.status = 'approved';
        await notify(stores, doc, 'promotion.approved', comment);
      }
      await audited(stores, ctx, `promotion.${verdict === 'approve' ? 'approved' : 'rejected'}`, doc, { comment });
      await save(stores, doc);
      return { view: await viewIn(stores, doc) };
    });
  }

  async function hold(ctx: WriteContext, request: ReceiveRequest, outcome: BatchOutcome, heads: PlanHeads, replayKey: string | undefined): Promise<HeldRequest> {
    return db.write(async (stores) => {
      const policy = await readPolicy(stores);
      const now = clock.now();
      const given = request.requester;
      const requester: Person = given
        ? { agentId: given.agentId ?? null, name: given.name, email: given.email }
        : { agentId: ctx.actor.kind === 'agent' ? ctx.actor.id : null, name: ctx.actor.name, email: null };
      const batch = packedHeld(
        { sender: request.sender, records: request.records ?? [], allowMissing: request.allowMissing, via: request.via ?? request.sender.name, ctx: storedContext(ctx) },
        request.changes,
      );
      const doc: PromotionRequestDocument = {
        id: newId(now),
        status: 'pending',
        operation: request.operation,
        from: { instanceId: request.sender.instanceId, name: request.sender.name },
        description: request.description ?? '',
        requester,
        revision: 1,
        planDigest: planDigestOf(batch, heads),
        plan: { changes: outcome.changes, entities: outcome.entities, problems: outcome.problems, counts: outcome.counts, skippedDependencies: outcome.skippedDependencies },
        heads,
        reviews: [],
        scheduledAt: null,
        reason: null,
        bypass: null,
        timeline: [{ at: now, kind: 'requested', by: requester, message: `${request.operation} from ${request.sender.name}: ${outcome.counts.toApply} changes to ${outcome.counts.entities} entities.` }],
        createdAt: now,
        updatedAt: now,
        appliedAt: null,
      };
      const { row, plan } = rowOf(doc);
      await stores.promotionRequests.insert({ ...row, plan }, batch);
      await audited(stores, ctx, 'promotion.requested', doc, { changes: outcome.counts.toApply, operation: doc.operation });
      await notify(stores, doc, 'promotion.requested', doc.description);
      const held: HeldRequest = { id: doc.id, status: doc.status, approvalsRequired: policy.approvalsRequired, planDigest: doc.planDigest };
      if (replayKey) await stores.syncRequests.insert(replayKey, request.sender.instanceId, { ...outcome, approvalsRequired: policy.approvalsRequired, request: held }, now);
      return held;
    });
  }

  return {
    approvalsRequired: async (stores) => (await readPolicy(stores)).approvalsRequired,
    heads: (stores, changes) => headsOf(stores, catalog, changes),
    hold,

    policy: () => db.read(readPolicy),
    async updatePolicy(ctx, patch) {
      const values = parseOrThrow(promotionPolicyPatchSchema, patch, 'promotion policy');
      if (!ctx.authority.isAdministrator) {
        await audit.record({ kind: 'access.denied', outcome: 'denied', actor: ctx.actor, request: ctx.request, subject: 'promotion policy', details: { permission: 'administrator' } });
        throw new DomainError('FORBIDDEN', 'Only an administrator of this instance can change its promotion policy.', { permission: 'administrator' });
      }
      return db.write(async (stores) => {
        const current = await readPolicy(stores);
        const next = { ...current, ...values } as PromotionPolicy;
        const changed = (Object.keys(values) as (keyof PromotionPolicy)[]).filter((k) => JSON.stringify(current[k]) !== JSON.stringify(next[k]));
        if (changed.length === 0) return current;
        await stores.settings.put(POLICY_KEY, next, clock.now());
        await audit.recordIn(stores, {
          kind: 'settings.promotion-policy-changed',
          outcome: 'success',
          actor: ctx.actor,
          request: ctx.request,
          subject: 'promotion policy',
          details: { changed: Object.fromEntries(changed.map((k) => [k, { from: current[k], to: next[k] }])) },
        });
        return next;
      });
    },

    async list(filter) {
      return db.read(async (stores) => {
        const policy = await readPolicy(stores);
        const rows = await stores.promotionRequests.list(filter);
        return rows.map((row) => requestSummary(docOf(row), policy.approvalsRequired));
      });
    },
    get: (id) => db.read(async (stores) => viewIn(stores, await load(stores, id))),

    async diffs(id) {
      const batch = await db.read(async (stores) => {
        await load(stores, id);
        return (await stores.promotionRequests.batchOf(id)) as HeldBatch;
      });
      const byEntity = new Map<string, { first: ReturnType<typeof heldChanges>[number]; last: ReturnType<typeof heldChanges>[number] }>();
      for (const change of heldChanges(batch)) {
        const seen = byEntity.get(change.entityId);
        if (seen) seen.last = change;
        else byEntity.set(change.entityId, { first: change, last: change });
      }
      return [...byEntity.values()].map(({ first, last }) => {
        const def = catalog.find(last.type);
        const before = def ? maskSecrets(def, first.before) : first.before;
        const after = def ? maskSecrets(def, last.after) : last.after;
        return { type: last.type, entityId: last.entityId, name: last.entityName, before, after, diff: diffBodies(before, after), secretsChanged: def ? changedSecrets(def, first.before, last.after) : [] };
      });
    },
    approve: (ctx, by, id, comment) => review(ctx, by, id, 'approve', comment),
    reject: (ctx, by, id, comment) => review(ctx, by, id, 'reject', comment),

    async apply(ctx, by, id, options) {
      return decide(async (stores) => {
        const doc = await load(stores, id);
        const policy = await readPolicy(stores);
        // A pending request is open, and short of approvals: it is refused for that.
        open(doc, ['pending', 'approved', 'scheduled'], 'applied');
        const short = approvalsProblem(doc, policy);
        if (short) throw short;
        const counted = countingApprovals(doc);
        const last = counted[counted.length - 1];
        if (!policy.lastApproverMayApply && policy.approvalsRequired > 0 && last && samePerson(last.by, by)) {
          throw new DomainError('FORBIDDEN', `${instance.name}'s policy does not let the agent whose approval completed the count apply the request.`, { permission: 'promotions:approve' });
        }
        const closed = closedReason(policy, clock.now());
        if (closed) {
          if (options.bypassReason === undefined) throw new DomainError('OUTSIDE_DEPLOY_WINDOW', `Nothing applies on ${instance.name} now: ${closed}.`, { reason: closed });
          if (!policy.emergencyBypass) throw new DomainError('FORBIDDEN', `${instance.name}'s policy allows no emergency bypass.`, { permission: 'promotions:bypass' });
          if (!ctx.authority.isAdministrator && !ctx.authority.permissions.has('promotions:bypass')) {
            throw new DomainError('FORBIDDEN', 'An emergency bypass needs the "promotions:bypass" permission.', { permission: 'promotions:bypass' });
          }
          doc.bypass = { by, reason: options.bypassReason, at: clock.now() };
          event(doc, 'bypass', by, `Emergency bypass (${closed}): ${options.bypassReason}`);
          await audited(stores, ctx, 'promotion.bypass', doc, { reason: options.bypassReason, closed });
        }
        const error = await applyIn(stores, doc, by, false);
        if (!error) await audited(stores, ctx, 'promotion.applied', doc, { changes: doc.plan.counts.toApply });
        return { view: await viewIn(stores, doc), ...(error ? { error } : {}) };
      });
    },

    async schedule(ctx, by, id, at) {
      return decide(async (stores) => {
        const doc = await load(stores, id);
        open(doc, ['approved', 'scheduled'], 'scheduled');
        const short = approvalsProblem(doc, await readPolicy(stores));
        if (short) throw short;
        doc.scheduledAt = at;
        doc.status = at === null ? 'approved' : 'scheduled';
        event(doc, at === null ? 'unscheduled' : 'scheduled', by, at === null ? 'No longer scheduled.' : `Scheduled for ${isoTime(at)}.`);
        await audited(stores, ctx, 'promotion.scheduled', doc, { at: at === null ? null : isoTime(at) });
        await save(stores, doc);
        return { view: await viewIn(stores, doc) };
      });
    },

    async cancel(ctx, by, id, reason) {
      return decide(async (stores) => {
        const doc = await load(stores, id);
        if (finalStatuses.has(doc.status)) open(doc, [], 'cancelled');
        mayChange(ctx, by, doc);
        doc.status = 'cancelled';
        doc.scheduledAt = null;
        doc.reason = reason || null;
        event(doc, 'cancelled', by, reason ? `Cancelled: ${reason}` : 'Cancelled.');
        await audited(stores, ctx, 'promotion.cancelled', doc, { reason });
        await save(stores, doc);
        return { view: await viewIn(stores, doc) };
      });
    },

    async replan(ctx, by, id, edit) {
      const { doc, batch } = await db.read(async (stores) => ({ doc: await load(stores, id), batch: (await stores.promotionRequests.batchOf(id)) as HeldBatch }));
      if (finalStatuses.has(doc.status)) open(doc, [], 're-planned');
      mayChange(ctx, by, doc);
      const removing = new Set(edit.removeChangeIds ?? []);
      const unknown = [...removing].filter((cid) => !batch.changes.some((c) => c.id === cid));
      if (unknown.length > 0) {
        throw new DomainError('VALIDATION_FAILED', 'The request holds no such change.', {
          errors: unknown.map((cid) => ({ path: 'removeChangeIds', code: 'not-in-request', message: `Change ${cid} is not in this request.` })),
        });
      }
      const changes = heldChanges(batch).filter((c) => !removing.has(c.id));
      if (changes.length === 0) {
        throw new DomainError('VALIDATION_FAILED', 'A request keeps at least one change; cancel it instead.', {
          errors: [{ path: 'removeChangeIds', code: 'empty-request', message: 'Every change of the request would be removed.' }],
        });
      }
      const next = packedHeld(batch, changes);
      // Checked again as a dry run against the target as it is now; rolled back.
      let replanned: Replanned;
      try {
        await db.write(async (stores) => {
          const heads = await headsOf(stores, catalog, changes);
          throw new Replanned(await applyHeld(stores, next, doc.operation), heads);
        });
        throw new Error('unreachable');
      } catch (error) {
        if (!(error instanceof Replanned)) throw error;
        replanned = error;
      }
      const { outcome, heads } = replanned;
      if (outcome.problems.length > 0) throw refuse(outcome.problems as SyncProblem[], { request: id, counts: outcome.counts });
      return decide(async (stores) => {
        const current = await load(stores, id);
        if (current.revision !== doc.revision || finalStatuses.has(current.status)) {
          throw new DomainError('REQUEST_NOT_OPEN', `Request ${id} changed while it was re-planned; try again.`, { status: current.status });
        }
        const now = clock.now();
        const revoked = current.reviews.filter((r) => r.revokedAt === null);
        for (const r of revoked) r.revokedAt = now;
        current.revision += 1;
        current.heads = heads;
        current.planDigest = planDigestOf(next, heads);
        current.plan = { changes: outcome.changes, entities: outcome.entities, problems: outcome.problems, counts: outcome.counts, skippedDependencies: outcome.skippedDependencies };
        current.status = 'pending';
        current.scheduledAt = null;
        current.reason = null;
        if (edit.description !== undefined) current.description = edit.description;
        const removed = removing.size > 0 ? `; ${removing.size} change${removing.size === 1 ? '' : 's'} removed` : '';
        event(current, 'replanned', by, `Re-planned (revision ${current.revision})${removed}: ${outcome.counts.toApply} changes to ${outcome.counts.entities} entities.`);
        if (revoked.length > 0) event(current, 'approvals-revoked', by, `${revoked.length} earlier verdict${revoked.length === 1 ? '' : 's'} revoked: the plan changed.`);
        await audited(stores, ctx, 'promotion.replanned', current, { removed: [...removing], revoked: revoked.length });
        await notify(stores, current, 'promotion.requested', `Re-planned: ${current.description}`);
        await save(stores, current, removing.size > 0 ? { batch: next } : {});
        return { view: await viewIn(stores, current) };
      });
    },

    async runDue() {
      const due = await db.read((stores) => stores.promotionRequests.due(clock.now(), 20));
      for (const id of due) {
        await db.write(async (stores) => {
          const doc = await load(stores, id);
          if (doc.status !== 'scheduled' || doc.scheduledAt === null || doc.scheduledAt > clock.now()) return;
          const policy = await readPolicy(stores);
          const short = approvalsProblem(doc, policy);
          if (short) {
            doc.status = 'suspended';
            doc.scheduledAt = null;
            doc.reason = short.message;
            event(doc, 'suspended', shiplog, short.message);
            await save(stores, doc);
            return;
          }
          // Outside a window the request waits for the next round; it is never applied there.
          if (closedReason(policy, clock.now())) return;
          await applyIn(stores, doc, shiplog, true);
        });
      }
      return due.length;
    },
  };
}
