import { createHash } from 'node:crypto';
import type { Catalog } from '../catalog/catalog.js';
import type { Actor, RequestInfo, WriteContext } from '../shared/actor.js';
import { isoTime } from '../shared/iso-time.js';
import type { Stores } from '../store/ports.js';
import { referencesIn } from '../tracking/change-writer.js';
import type { RecordDescription } from '../sync/record-descriptions.js';
import { packBatch, unpackBatch, type BatchOutcome, type PackedChange, type SenderInfo, type TransferChange } from '../sync/transfer.js';

export const requestStatuses = ['pending', 'approved', 'scheduled', 'suspended', 'stale', 'rejected', 'applied', 'failed', 'cancelled'] as const;
export type RequestStatus = (typeof requestStatuses)[number];

/** Statuses a request never leaves. */
export const finalStatuses: ReadonlySet<RequestStatus> = new Set(['applied', 'cancelled']);

/** Someone who asked, approved or rejected: an agent of this instance where known, and the address they are told at. */
export interface Person {
  agentId: string | null;
  name: string;
  email: string | null;
}

export interface Review {
  by: Person;
  verdict: 'approve' | 'reject';
  comment: string;
  at: number;
  /** The plan digest the verdict was given on: it counts for that plan only. */
  planDigest: string;
  /** Set when the plan changed after the verdict (an edit or re-plan). */
  revokedAt: number | null;
}

export interface TimelineEvent {
  at: number;
  kind: string;
  by: Person | null;
  message: string;
}

/** The entity ids a plan reads, each with its head on the target when the plan was made (null: absent). */
export type PlanHeads = Record<string, string | null>;

/** Everything of a request but its batch. */
export interface PromotionRequestDocument {
  id: string;
  status: RequestStatus;
  operation: 'push' | 'pull' | 'import';
  from: { instanceId: string; name: string };
  description: string;
  requester: Person;
  revision: number;
  planDigest: string;
  plan: Pick<BatchOutcome, 'changes' | 'entities' | 'problems' | 'counts' | 'skippedDependencies'>;
  heads: PlanHeads;
  reviews: Review[];
  scheduledAt: number | null;
  /** Why the request went stale, was suspended or failed. */
  reason: string | null;
  bypass: { by: Person; reason: string; at: number } | null;
  timeline: TimelineEvent[];
  createdAt: number;
  updatedAt: number;
  appliedAt: number | null;
}

/** The write context a batch is applied with, as stored: who asked, with what authority (its sets as lists). */
export interface StoredContext {
  actor: Actor;
  request: RequestInfo | null;
  changeSet: string | null;
  authority: { permissions: string[]; ticketPermissions: string[]; isAdministrator: boolean; viaApplication: boolean };
}

/** The batch a request holds: exactly what is applied once approved (its changes packed as a push sends them). */
export interface HeldBatch {
  sender: SenderInfo;
  changes: PackedChange[];
  records: RecordDescription[];
  allowMissing: string[];
  via: string;
  ctx: StoredContext;
}

/** The batch with its changes packed for storing: a `before` its parent's `after` gives is left out (about a third of the bytes). */
export function packedHeld(batch: Omit<HeldBatch, 'changes'>, changes: TransferChange[]): HeldBatch {
  return { ...batch, changes: packBatch(changes) };
}

/** The held batch's changes as they are applied: each left-out `before` put back. */
export function heldChanges(batch: HeldBatch): TransferChange[] {
  return unpackBatch(batch.changes);
}

export function storedContext(ctx: WriteContext): StoredContext {
  return {
    actor: ctx.actor,
    request: ctx.request,
    changeSet: ctx.changeSet,
    authority: {
      permissions: [...ctx.authority.permissions],
      ticketPermissions: [...ctx.authority.ticketPermissions],
      isAdministrator: ctx.authority.isAdministrator,
      viaApplication: ctx.authority.viaApplication,
    },
  };
}

export function contextOf(stored: StoredContext): WriteContext {
  return {
    actor: stored.actor,
    request: stored.request,
    changeSet: stored.changeSet,
    authority: { ...stored.authority, permissions: new Set(stored.authority.permissions), ticketPermissions: new Set(stored.authority.ticketPermissions) },
  };
}

/**
 * The digest of a plan: every change of the batch (its id and content digest, which is keyed over all its fields), in
 * order, the changes accepted as missing, and the head of every entity read. An approval binds to it.
 */
export function planDigestOf(batch: Pick<HeldBatch, 'changes' | 'allowMissing'>, heads: PlanHeads): string {
  const hash = createHash('sha256');
  for (const change of batch.changes) hash.update(`${change.id}:${change.digest}\n`);
  hash.update(`missing:${[...batch.allowMissing].sort().join(',')}\n`);
  for (const id of Object.keys(heads).sort()) hash.update(`head:${id}=${heads[id] ?? '-'}\n`);
  return hash.digest('hex');
}

/** The entities a batch writes or references, with their heads here now. */
export async function headsOf(stores: Stores, catalog: Catalog, changes: readonly TransferChange[]): Promise<PlanHeads> {
  const ids = new Set<string>();
  for (const change of changes) {
    ids.add(change.entityId);
    const def = catalog.find(change.type);
    if (def && change.after) for (const r of referencesIn(def, change.after)) ids.add(r.toId);
  }
  const heads: PlanHeads = {};
  const all = [...ids];
  for (const id of all) heads[id] = null;
  for (let i = 0; i < all.length; i += 500) {
    for (const entity of await stores.entities.findMany(all.slice(i, i + 500))) heads[entity.id] = entity.head;
  }
  return heads;
}

/** The entities whose head moved since the plan, as their ids. */
export async function movedSince(stores: Stores, heads: PlanHeads): Promise<string[]> {
  const ids = Object.keys(heads);
  const now: PlanHeads = {};
  for (let i = 0; i < ids.length; i += 500) {
    for (const entity of await stores.entities.findMany(ids.slice(i, i + 500))) now[entity.id] = entity.head;
  }
  return ids.filter((id) => (now[id] ?? null) !== heads[id]);
}

/** The approvals that count: given on the current plan, not revoked, one per agent. */
export function countingApprovals(doc: PromotionRequestDocument): Review[] {
  const seen = new Set<string>();
  const counted: Review[] = [];
  for (const review of doc.reviews) {
    if (review.verdict !== 'approve' || review.revokedAt !== null || review.planDigest !== doc.planDigest) continue;
    const key = personKey(review.by);
    if (seen.has(key)) continue;
    seen.add(key);
    counted.push(review);
  }
  return counted;
}

export const personKey = (p: Person): string => p.agentId ?? `email:${p.email ?? p.name}`;

/** Whether `a` and `b` are the same person here: the same agent, or the same address. */
export function samePerson(a: Person, b: Person): boolean {
  if (a.agentId !== null && a.agentId === b.agentId) return true;
  return a.email !== null && b.email !== null && a.email.toLowerCase() === b.email.toLowerCase();
}

const personView = (p: Person) => ({ agentId: p.agentId, name: p.name, email: p.email });
const timeOrNull = (t: number | null) => (t === null ? null : isoTime(t));

/** What a request's list row and its whole view both show. */
function requestHeader(doc: PromotionRequestDocument, approvalsRequired: number) {
  return {
    id: doc.id,
    status: doc.status,
    operation: doc.operation,
    from: doc.from,
    description: doc.description,
    requester: personView(doc.requester),
    revision: doc.revision,
    approvalsRequired,
    approvals: countingApprovals(doc).length,
    scheduledAt: timeOrNull(doc.scheduledAt),
    reason: doc.reason,
    createdAt: isoTime(doc.createdAt),
    updatedAt: isoTime(doc.updatedAt),
  };
}

/** The request as the API shows it. */
export function requestView(doc: PromotionRequestDocument, approvalsRequired: number) {
  const counting = new Set(countingApprovals(doc));
  return {
    ...requestHeader(doc, approvalsRequired),
    planDigest: doc.planDigest,
    plan: doc.plan,
    heads: Object.entries(doc.heads).map(([entityId, head]) => ({ entityId, head })),
    reviews: doc.reviews.map((r) => ({
      by: personView(r.by),
      verdict: r.verdict,
      comment: r.comment,
      at: isoTime(r.at),
      planDigest: r.planDigest,
      revoked: r.revokedAt !== null,
      revokedAt: timeOrNull(r.revokedAt),
      counts: counting.has(r),
    })),
    bypass: doc.bypass ? { by: personView(doc.bypass.by), reason: doc.bypass.reason, at: isoTime(doc.bypass.at) } : null,
    timeline: doc.timeline.map((e) => ({ at: isoTime(e.at), kind: e.kind, by: e.by ? personView(e.by) : null, message: e.message })),
    appliedAt: timeOrNull(doc.appliedAt),
  };
}

export type PromotionRequestView = ReturnType<typeof requestView>;

/** A request in a list: no plan, no timeline. */
export function requestSummary(doc: PromotionRequestDocument, approvalsRequired: number) {
  return { ...requestHeader(doc, approvalsRequired), changes: doc.plan.counts.toApply, entities: doc.plan.counts.entities };
}

export type PromotionRequestSummary = ReturnType<typeof requestSummary>;
