import type { Actor, RequestInfo } from '../shared/actor.js';
import type { RecordKind, RecordSummary } from '../shared/records.js';

/** A stored entity of any catalog type. */
export interface EntityRecord {
  id: string;
  type: string;
  name: string;
  body: Record<string, unknown>;
  /** The change that last wrote it; null when it was never tracked. */
  head: string | null;
  createdAt: number;
  updatedAt: number;
}

/**
 * A numbered page, for clients that page by number and sort by a field (the Halo dialect): `offset` rows skipped in
 * the order of `by`, ties broken by id in the same direction.
 */
export interface NumberedPage<K extends string> {
  by: K;
  desc: boolean;
  offset: number;
  limit: number;
}

/** A list, counted: the rows of one numbered page and how many rows match in all. */
export interface CountedRows<R> {
  rows: R[];
  total: number;
}

/** One reference field of one entity, pointing at another entity. */
export interface EntityReference {
  fromId: string;
  fromType: string;
  toId: string;
  path: string;
}

export interface EntityListQuery {
  type: string;
  afterId?: string;
  limit: number;
  nameContains?: string;
}

/** Entities of a type whose body's top-level string `field` is one of `anyOf` (an empty list matches nothing). */
export interface BodyMatch {
  field: string;
  anyOf: string[];
}

export type EntitySortKey = 'id' | 'name' | 'createdAt' | 'updatedAt';

export interface EntityCountQuery {
  type: string;
  nameContains?: string;
  bodyMatches?: BodyMatch[];
}

export interface EntityStore {
  find(id: string): Promise<EntityRecord | undefined>;
  findMany(ids: string[]): Promise<EntityRecord[]>;
  list(query: EntityListQuery): Promise<EntityRecord[]>;
  /** One numbered page of the entities the query matches, and how many match (counted, not read). */
  page(query: EntityCountQuery, page: NumberedPage<EntitySortKey>): Promise<CountedRows<EntityRecord>>;
  /** Every entity of a type (for small types such as roles). */
  listAll(type: string): Promise<EntityRecord[]>;
  insert(record: EntityRecord): Promise<void>;
  update(record: EntityRecord): Promise<void>;
  remove(id: string): Promise<void>;
  /** Replaces every outgoing reference of `fromId`. */
  replaceReferences(fromId: string, fromType: string, refs: { toId: string; path: string }[]): Promise<void>;
  /** Inserts or wholly replaces each entity (by id), in a few statements: the entity rows of a batch. */
  saveMany(records: EntityRecord[]): Promise<void>;
  /** `replaceReferences` of each entry, in a few statements; each `fromId` at most once. */
  replaceReferencesMany(entries: { fromId: string; fromType: string; refs: { toId: string; path: string }[] }[]): Promise<void>;
  referrers(toId: string, limit: number): Promise<EntityReference[]>;
}

export type ChangeOp = 'create' | 'update' | 'delete';

/** A change as stored: see DESIGN.md "Change". */
export interface ChangeRecord {
  seq: number;
  id: string;
  origin: string;
  originSeq: number;
  type: string;
  entityId: string;
  entityName: string;
  op: ChangeOp;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  parent: string | null;
  requires: string[];
  actor: Actor;
  at: number;
  request: RequestInfo | null;
  changeSet: string | null;
  revertOf: string | null;
  appliedFrom: string | null;
  /** Who brought the change here from another instance or a file, and when; null for a change made here. */
  received: ChangeReceipt | null;
  digest: string;
  hash: string;
}

/** How a change made elsewhere came into this log: local to this instance, covered by its chain, never by the digest. */
export interface ChangeReceipt {
  /** Who pushed, pulled, imported or restored it, as this instance authenticated them. */
  actor: Actor;
  operation: 'push' | 'pull' | 'import' | 'restore';
  /** The instance it came through (the sender of a push, the peer pulled or restored from), or the imported file's checksum. */
  via: string;
  /** When it arrived, by this instance's clock. */
  at: number;
}

/** The columns a list screen shows: no snapshots. */
export type ChangeSummary = Omit<ChangeRecord, 'before' | 'after' | 'request' | 'digest' | 'hash' | 'requires' | 'received'>;

/**
 * The changes a numbered page of the change list counts and shows: by name, and for a caller who sees only some
 * customers' records, changes of the types holding them only when each body (before, after) names one of `customerIds`.
 */
export interface ChangePageFilter {
  nameContains?: string;
  customerRecords?: { customerIds: string[]; customerField: Record<string, string> };
}

export interface ChangeFilter {
  type?: string;
  entityId?: string;
  op?: ChangeOp;
  actor?: string;
  origin?: string;
  changeSet?: string;
  nameContains?: string;
  /** Changes received from elsewhere by this actor (id or name). */
  receivedBy?: string;
  from?: number;
  to?: number;
  beforeSeq?: number;
  limit: number;
}

/**
 * The rows of a log written before digests were keyed, kept in that format (ADR 12): rows up to `until`, pinned by
 * `seal`, a chain mark of the row `until`'s hash. `until` 0: every row is keyed.
 */
export interface LegacySegment {
  until: number;
  seal: string | null;
}

export interface LogHead {
  seq: number;
  hash: string;
  /** Added to a local change's seq to make its origin sequence; a restore raises it (origin sequences are never reused). */
  originOffset: number;
}

export interface ChangeStore {
  head(): Promise<LogHead>;
  /** Inserts the change and moves the log head to it. */
  append(change: ChangeRecord): Promise<void>;
  /** Inserts the change and moves only the head `head()` answers; `saveHead` stores it (once, for a batch) before commit. */
  appendDeferred(change: ChangeRecord): Promise<void>;
  /** `appendDeferred` of each change in order, in a few multi-row statements: the changes must follow the head and each other. */
  appendMany(changes: ChangeRecord[]): Promise<void>;
  /** Stores the head that `appendDeferred` moved. */
  saveHead(): Promise<void>;
  /** Removes the whole log; the head goes back to genesis with the given origin offset (restore). */
  reset(originOffset: number): Promise<void>;
  legacySegment(): Promise<LegacySegment>;
  saveLegacySegment(segment: LegacySegment): Promise<void>;
  /** Rewrites the digest and hash of the row at `seq`, and the head's hash when it is the head (keying a legacy log). */
  rekey(seq: number, digest: string, hash: string): Promise<void>;
  findById(id: string): Promise<ChangeRecord | undefined>;
  /** Newest first. */
  list(filter: ChangeFilter): Promise<ChangeSummary[]>;
  /** One numbered page of the log in seq order (`desc`: newest first), and how many changes the filter matches. */
  page(filter: ChangePageFilter, page: NumberedPage<'seq'>): Promise<CountedRows<ChangeSummary>>;
  /** Ascending by seq, `seq > afterSeq`, at most `limit`. */
  scan(afterSeq: number, limit: number): Promise<ChangeRecord[]>;
  /** Changes with `fromSeq <= seq < belowSeq`, newest first, at most `limit`. */
  descending(fromSeq: number, belowSeq: number, limit: number): Promise<ChangeRecord[]>;
  countFromSeq(fromSeq: number): Promise<number>;
  /** The next change of the same entity after `seq`. */
  nextOfEntity(entityId: string, afterSeq: number): Promise<ChangeSummary | undefined>;
  /** Changes after `afterSeq` whose `requires` holds `changeId` (ids are ULIDs, so a quoted match is exact). */
  requiring(changeId: string, afterSeq: number, limit: number): Promise<ChangeSummary[]>;
}

export interface InstanceIdentity {
  id: string;
  name: string;
  kind: string;
  createdAt: number;
}

export interface InstanceStore {
  get(): Promise<InstanceIdentity | undefined>;
  create(identity: InstanceIdentity): Promise<void>;
}

export interface SettingsStore {
  all(): Promise<Record<string, unknown>>;
  put(key: string, value: unknown, at: number): Promise<void>;
}

export interface ClientRestrictions {
  allowAllCustomers: boolean;
  customerIds: string[];
}

/** An agent: a local record with a global id, never tracked. */
export interface AgentRecord {
  id: string;
  name: string;
  email: string;
  apiOnly: boolean;
  disabled: boolean;
  thirdPartyId: string | null;
  /** Memory-hard hash for console sign-in; null for API-only agents or before a password is set. */
  passwordHash: string | null;
  clientRestrictions: ClientRestrictions;
  coManagedCustomerId: string | null;
  customerGroupOverrideId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface PageQuery {
  afterId?: string;
  limit: number;
  nameContains?: string;
}

/** The agents a viewer sees: by name or email, within its customer group, and of co-managed customers in its scope. */
export interface AgentPageFilter {
  nameContains?: string;
  /** Only agents of this customer group (customer-group override, else co-managed customer), and `agentId` itself. */
  group?: { groupId: string; agentId: string };
  /** Agents working for a co-managed customer only when it is one of these. */
  coManagedIn?: string[];
}

export interface AgentStore {
  find(id: string): Promise<AgentRecord | undefined>;
  findByEmail(email: string): Promise<AgentRecord | undefined>;
  findMany(ids: string[]): Promise<AgentRecord[]>;
  list(query: PageQuery): Promise<AgentRecord[]>;
  /** One numbered page of the agents the filter matches, and how many match (counted, not read). */
  page(filter: AgentPageFilter, page: NumberedPage<DeskRecordSortKey>): Promise<CountedRows<AgentRecord>>;
  count(): Promise<number>;
  insert(agent: AgentRecord): Promise<void>;
  update(agent: AgentRecord): Promise<void>;
  remove(id: string): Promise<void>;
}

export interface TokenRecord {
  id: string;
  agentId: string;
  tokenHash: string;
  label: string;
  createdAt: number;
}

/** Personal API tokens of agents (the bootstrap administrator's among them). */
export interface TokenStore {
  findByHash(tokenHash: string): Promise<TokenRecord | undefined>;
  insert(token: TokenRecord): Promise<void>;
  removeForAgent(agentId: string): Promise<void>;
}

export interface ApplicationRecord {
  id: string;
  name: string;
  clientId: string;
  /** SHA-256 of the client secret; the secret itself is shown once. */
  secretHash: string;
  agentId: string;
  permissions: string[];
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  secretRotatedAt: number;
}

export interface ApplicationStore {
  find(id: string): Promise<ApplicationRecord | undefined>;
  findByClientId(clientId: string): Promise<ApplicationRecord | undefined>;
  list(query: PageQuery): Promise<ApplicationRecord[]>;
  countForAgent(agentId: string): Promise<number>;
  insert(app: ApplicationRecord): Promise<void>;
  update(app: ApplicationRecord): Promise<void>;
  remove(id: string): Promise<void>;
}

export interface AccessTokenRecord {
  tokenHash: string;
  applicationId: string;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
}

export interface AccessTokenStore {
  find(tokenHash: string): Promise<AccessTokenRecord | undefined>;
  insert(token: AccessTokenRecord): Promise<void>;
  removeForApplication(applicationId: string): Promise<void>;
  /** Removes up to `limit` tokens expired at `now`; how many it removed. */
  removeExpired(now: number, limit: number): Promise<number>;
}

export interface SessionRecord {
  tokenHash: string;
  agentId: string;
  csrfHash: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionStore {
  find(tokenHash: string): Promise<SessionRecord | undefined>;
  insert(session: SessionRecord): Promise<void>;
  remove(tokenHash: string): Promise<void>;
  removeForAgent(agentId: string): Promise<void>;
  /** Removes up to `limit` sessions expired at `now`; how many it removed. */
  removeExpired(now: number, limit: number): Promise<number>;
}

export type AuditOutcome = 'success' | 'failure' | 'denied';

/** An instance event: who, when, from where, what. Never a secret. */
export interface AuditEvent {
  id: string;
  at: number;
  kind: string;
  outcome: AuditOutcome;
  actor: Actor | null;
  remoteAddress: string | null;
  requestId: string | null;
  subject: string | null;
  details: Record<string, unknown>;
  /** On an event that coalesces repeated ones (a flood from one source): how many it stands for, and the last one's time. */
  count?: number;
  lastAt?: number;
}

export interface AuditQuery {
  kind?: string;
  outcome?: AuditOutcome;
  actorId?: string;
  from?: number;
  to?: number;
  beforeId?: string;
  limit: number;
}

export interface AuditStore {
  append(event: AuditEvent): Promise<void>;
  /** Appends the event under `key`, or counts it in the event already there under that key (count + 1, lastAt). */
  coalesce(event: AuditEvent, key: string): Promise<void>;
  list(query: AuditQuery): Promise<AuditEvent[]>;
}

export interface ThrottleStore {
  get(key: string): Promise<{ windowStart: number; failures: number } | undefined>;
  /** Sets the count of `key` in its window, which ends at `expiresAt`; a purge may remove the row after that. */
  put(key: string, windowStart: number, failures: number, expiresAt: number): Promise<void>;
  clear(key: string): Promise<void>;
  /** Removes up to `limit` rows whose window ended at `now`; how many it removed. */
  removeExpired(now: number, limit: number): Promise<number>;
}

/** A linked instance, as this instance knows it. */
export interface PeerRecord {
  name: string;
  url: string;
  clientId: string;
  /** Sealed with the secret box; never returned. */
  clientSecret: string;
  /** Learnt on first contact. */
  instanceId: string | null;
  isSource: boolean;
  /** This instance's log seq up to which everything was pushed to the peer (for "don't check diffs"). */
  lastPushSeq: number;
  /** The peer's log seq up to which everything was pulled from it. */
  lastPullSeq: number;
  lastSyncAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface PeerStore {
  list(): Promise<PeerRecord[]>;
  find(name: string): Promise<PeerRecord | undefined>;
  insert(peer: PeerRecord): Promise<void>;
  update(peer: PeerRecord): Promise<void>;
  remove(name: string): Promise<void>;
}

/** An instance that named this one as its source. */
export interface DownstreamRecord {
  instanceId: string;
  name: string;
  registeredAt: number;
}

export interface DownstreamStore {
  list(): Promise<DownstreamRecord[]>;
  put(record: DownstreamRecord): Promise<void>;
  remove(instanceId: string): Promise<void>;
}

/** Identity of a change in every log: its origin and its sequence there. */
export interface ChangeKey {
  origin: string;
  originSeq: number;
}

/** What a fold adds to one node of an origin's summary tree: a count, a fingerprint sum and, on buckets, member bits. */
export interface NodeDelta {
  origin: string;
  level: number;
  index: number;
  n: number;
  fp: number;
  /** Level 0: eight 32-bit words (unsigned) of member bits to or into the bucket's bitmap. */
  words?: number[];
}

/** One node of the reconciliation summary: how many changes it holds and the sum of their fingerprints. */
export interface SummaryCell {
  n: number;
  fp: number;
}

/** A summary node's cell, read for the range at position `range` of a request. */
export interface NodeCellRow {
  range: number;
  index: number;
  n: number;
  fp: number;
}

/** A bucket's member bitmap, read for the range at position `range` of a request. */
export interface BucketBitmapRow {
  range: number;
  bucket: number;
  words: number[];
}

export interface ChangeSummaryStore {
  /** The last log seq folded into the summary. */
  mark(): Promise<number>;
  /** Whether every change of the log is folded into the summary (one statement: the mark against the log head). */
  isCurrent(): Promise<boolean>;
  /** Adds counts and fingerprints to nodes, ors member bits into bucket bitmaps, and moves the mark. */
  fold(deltas: NodeDelta[], mark: number): Promise<void>;
  /** Per origin: the cell of its node 0 on `topLevel` (which covers every bucket) and its highest bucket. */
  origins(topLevel: number): Promise<{ origin: string; cell: SummaryCell; maxBucket: number }[]>;
  /**
   * Cells of the nodes of `level` within `ranges` (`[origin, from, to)` of node indexes), each row naming its range by
   * position in `ranges`; nodes without changes are left out.
   */
  cellsIn(level: number, ranges: [string, number, number][]): Promise<NodeCellRow[]>;
  /** Member bitmaps of the buckets within `ranges` (`[origin, from, to)` of buckets), by range position; buckets without changes are left out. */
  bitmapsIn(ranges: [string, number, number][]): Promise<BucketBitmapRow[]>;
  /** Forgets every node and the mark. */
  reset(): Promise<void>;
}

/** A change with its bodies left as the JSON texts they are stored as: a sender passes them on without parsing them. */
export interface StoredChange extends Omit<ChangeRecord, 'before' | 'after'> {
  beforeText: string | null;
  afterText: string | null;
}

/** A change's place in the log and what it depends on: what choosing a batch needs, without its bodies. */
export interface ChangeLink {
  id: string;
  seq: number;
  parent: string | null;
  requires: string[];
  at: number;
  changeSet: string | null;
}

/** Bulk reads and writes of the change log that sync needs. */
export interface SyncHistoryStore {
  /** Which of `ids` this log holds. */
  presentIds(ids: string[]): Promise<Set<string>>;
  /** The digest of each of `ids` this log holds. */
  heldDigests(ids: string[]): Promise<Map<string, string>>;
  /** The ids of the changes of one origin this log holds at these origin sequences, by origin sequence. */
  keyHolders(origin: string, originSeqs: number[]): Promise<Map<number, string>>;
  /** Full changes by id, in log order. */
  findByIds(ids: string[]): Promise<ChangeRecord[]>;
  /** Keys and fingerprint input of changes after `afterSeq`, ascending. */
  keysAfter(afterSeq: number, limit: number): Promise<(ChangeKey & { seq: number; id: string })[]>;
  /** Keys and ids of the changes with `afterSeq < seq <= toSeq`, ascending by seq. */
  keysBetween(afterSeq: number, toSeq: number): Promise<(ChangeKey & { id: string })[]>;
  /** Change ids and seqs for keys of one origin. */
  byKeys(origin: string, originSeqs: number[]): Promise<{ id: string; seq: number; originSeq: number }[]>;
  /** Full changes of one origin with `from <= originSeq < to`. */
  findByOriginRange(origin: string, from: number, to: number): Promise<ChangeRecord[]>;
  /** Full changes for keys of one origin. */
  findByKeys(origin: string, originSeqs: number[]): Promise<ChangeRecord[]>;
  /** `findByIds`, `findByOriginRange` and `findByKeys`, reading only the changes' links. */
  linksByIds(ids: string[]): Promise<ChangeLink[]>;
  linksByOriginRange(origin: string, from: number, to: number): Promise<ChangeLink[]>;
  linksByKeys(origin: string, originSeqs: number[]): Promise<ChangeLink[]>;
  /** Changes at the given log positions, ascending by seq (positions the log lacks are left out), bodies unparsed. */
  findBySeqs(seqs: number[]): Promise<StoredChange[]>;
  /** Summaries after `afterSeq`, ascending, at most `limit`. */
  summariesAfter(afterSeq: number, limit: number): Promise<ChangeSummary[]>;
  /** Removes every entity of the given types and their references (restore). */
  clearEntities(types: string[]): Promise<number>;
}

export interface SyncRequestStore {
  find(key: string): Promise<{ sender: string; result: unknown } | undefined>;
  insert(key: string, sender: string, result: unknown, at: number): Promise<void>;
}

/** A stored promotion request: its document (everything but the batch) and, read apart, its batch. */
export interface PromotionRequestRow {
  id: string;
  status: string;
  scheduledAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** The request but its plan and batch. */
  document: unknown;
  plan: unknown;
}

export interface PromotionRequestStore {
  insert(row: PromotionRequestRow, batch: unknown): Promise<void>;
  find(id: string): Promise<PromotionRequestRow | undefined>;
  /** The batch the request holds, exactly as stored. */
  batchOf(id: string): Promise<unknown>;
  /** Replaces the document (and the plan and the batch, when given: a verdict or an apply rewrites neither). */
  update(row: Omit<PromotionRequestRow, 'plan'> & { plan?: unknown }, batch?: unknown): Promise<void>;
  /** Newest first, optionally of some statuses, before an id (the cursor). */
  list(filter: { statuses?: string[]; beforeId?: string; limit: number }): Promise<PromotionRequestRow[]>;
  /** Ids of scheduled requests whose time has come, oldest first. */
  due(now: number, limit: number): Promise<string[]>;
}

/** Every store, bound to one connection or transaction. */
/** A customer of the desk: a local record, never tracked. */
export interface CustomerRecord {
  id: string;
  name: string;
  /** The customer's id in another system, for linking configuration across instances (unique when set). */
  thirdPartyId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A user (a person at a customer). */
export interface DeskUserRecord {
  id: string;
  customerId: string;
  name: string;
  email: string | null;
  /** The user's id in the identity system, for linking configuration across instances (unique when set). */
  thirdPartyId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface TicketRecord {
  id: string;
  /** Sequential per instance, for people. */
  number: number;
  customerId: string;
  userId: string | null;
  ticketTypeId: string;
  statusId: string | null;
  teamId: string | null;
  agentId: string | null;
  priority: number | null;
  summary: string;
  details: string;
  closed: boolean;
  workflowId: string | null;
  stepId: string | null;
  /** Actor id of whoever logged the ticket. */
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

export interface TicketActionRecord {
  id: string;
  ticketId: string;
  kind: 'created' | 'note' | 'workflow-action' | 'updated';
  name: string;
  note: string;
  actor: Actor;
  details: Record<string, unknown>;
  at: number;
}

/** The filters of a saved ticket list: those of the ticket list. */
export interface TicketListFilters {
  customerId?: string;
  teamId?: string;
  agentId?: string;
  statusId?: string;
  closed?: boolean;
  q?: string;
}

/** An agent's saved ticket list. */
export interface TicketListRecord {
  id: string;
  agentId: string;
  name: string;
  /** Seen (and run) by every agent, each within what it may see; changed only by its owner or an administrator. */
  shared: boolean;
  filters: TicketListFilters;
  createdAt: number;
  updatedAt: number;
}

/** What this instance did with one message read from one of its mailboxes. */
export interface InboundMailRecord {
  id: string;
  mailboxId: string;
  mailboxName: string;
  /** The message's Message-ID, or a digest of the message when it has none. */
  messageKey: string;
  fromAddress: string | null;
  subject: string;
  outcome: 'ticket-logged' | 'note-added' | 'ignored';
  ticketId: string | null;
  /** Why a message was ignored, or what a note was matched by. */
  reason: string | null;
  receivedAt: number;
}

export interface InboundMailFilter {
  mailboxId?: string;
  outcome?: InboundMailRecord['outcome'];
  beforeId?: string;
  limit: number;
}

/** Which tickets an agent may see beyond its own: every one, or those of its teams by the view permissions. */
export type TicketVisibility =
  | { kind: 'all' }
  | { kind: 'limited'; agentId: string; teamIds: string[]; unassigned: boolean; assignedToOthers: boolean };

export interface TicketFilter {
  /** Only these customers (a client restriction); absent: every customer. */
  customerIds?: string[];
  /** Only tickets of these types (a ticket group restriction); absent: every type. */
  ticketTypeIds?: string[];
  visibility: TicketVisibility;
  customerId?: string;
  teamId?: string;
  agentId?: string;
  statusId?: string;
  /** Tickets of one of these teams, or in one of these statuses (a view list); an empty list matches nothing. */
  teamIdsIn?: string[];
  statusIdsIn?: string[];
  closed?: boolean;
  summaryContains?: string;
  /** Tickets older than this id (newest first). */
  beforeId?: string;
  limit: number;
}

export interface CustomerFilter {
  customerIds?: string[];
  nameContains?: string;
  afterId?: string;
  limit: number;
}

export interface DeskUserFilter extends CustomerFilter {
  customerId?: string;
}

export type TicketSortKey = 'id' | 'summary' | 'createdAt' | 'updatedAt' | 'priority';
export type DeskRecordSortKey = 'id' | 'name' | 'createdAt';
/** A filter without its cursor page: what a count and a numbered page take. */
export type Unpaged<F> = Omit<F, 'afterId' | 'beforeId' | 'limit'>;

export interface DeskStore {
  findCustomer(id: string): Promise<CustomerRecord | undefined>;
  listCustomers(filter: CustomerFilter): Promise<CustomerRecord[]>;
  /** One numbered page of the customers the filter matches, and how many match (counted, not read). */
  pageCustomers(filter: Unpaged<CustomerFilter>, page: NumberedPage<DeskRecordSortKey>): Promise<CountedRows<CustomerRecord>>;
  insertCustomer(customer: CustomerRecord): Promise<void>;
  updateCustomer(customer: CustomerRecord): Promise<void>;
  removeCustomer(id: string): Promise<void>;
  /** Users and tickets of the customer (what keeps it from being deleted). */
  customerHolds(id: string): Promise<{ users: number; tickets: number }>;
  findUser(id: string): Promise<DeskUserRecord | undefined>;
  listUsers(filter: DeskUserFilter): Promise<DeskUserRecord[]>;
  pageUsers(filter: Unpaged<DeskUserFilter>, page: NumberedPage<DeskRecordSortKey>): Promise<CountedRows<DeskUserRecord>>;
  insertUser(user: DeskUserRecord): Promise<void>;
  updateUser(user: DeskUserRecord): Promise<void>;
  removeUser(id: string): Promise<void>;
  userHolds(id: string): Promise<{ tickets: number }>;
  findUserByThirdPartyId(thirdPartyId: string): Promise<DeskUserRecord | undefined>;
  findCustomerByThirdPartyId(thirdPartyId: string): Promise<CustomerRecord | undefined>;
  nextTicketNumber(): Promise<number>;
  findTicket(id: string): Promise<TicketRecord | undefined>;
  listTickets(filter: TicketFilter): Promise<TicketRecord[]>;
  pageTickets(filter: Unpaged<TicketFilter>, page: NumberedPage<TicketSortKey>): Promise<CountedRows<TicketRecord>>;
  insertTicket(ticket: TicketRecord): Promise<void>;
  updateTicket(ticket: TicketRecord): Promise<void>;
  addAction(action: TicketActionRecord): Promise<void>;
  listActions(ticketId: string): Promise<TicketActionRecord[]>;
  findTicketByNumber(number: number): Promise<TicketRecord | undefined>;
  /** Users whose address is this one (lower-case), at most `limit`. */
  findUsersByEmail(email: string, limit: number): Promise<DeskUserRecord[]>;
  /** The mail log's entry for this message of this mailbox; without a mailbox, the first entry of any mailbox. */
  findInboundMail(messageKey: string, mailboxId?: string): Promise<InboundMailRecord | undefined>;
  insertInboundMail(mail: InboundMailRecord): Promise<void>;
  listInboundMail(filter: InboundMailFilter): Promise<InboundMailRecord[]>;
  findTicketList(id: string): Promise<TicketListRecord | undefined>;
  /** The lists an agent sees: its own and those shared, by id. */
  listTicketLists(filter: { agentId: string; afterId?: string; limit: number }): Promise<TicketListRecord[]>;
  insertTicketList(list: TicketListRecord): Promise<void>;
  updateTicketList(list: TicketListRecord): Promise<void>;
  removeTicketList(id: string): Promise<void>;
  /** Removes every desk record (a restore from production). */
  clear(): Promise<void>;
}

export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed';

/** One webhook delivery, runbook run or notification: queued with the event, sent (and retried) after its transaction commits. */
export interface WebhookDeliveryRecord {
  id: string;
  kind: 'webhook' | 'runbook' | 'notification';
  /** Runbook steps done (a retry resumes at the next); 0 or 1 for a webhook. */
  progress: number;
  /** The webhook's, runbook's or notification's id and name. */
  webhookId: string;
  webhookName: string;
  event: string;
  /** The record the event is about (a ticket id). */
  subjectId: string;
  /** The JSON body sent. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  maxAttempts: number;
  /** When the next attempt is due. */
  nextAt: number;
  /** While `sending`: until when the sender holds it; past it, another sender may take it over. */
  leaseUntil: number | null;
  responseStatus: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface WebhookDeliveryStore {
  insertMany(deliveries: WebhookDeliveryRecord[]): Promise<void>;
  /** Marks up to `limit` due deliveries (pending and due, or sending with an expired lease) as sending until `leaseUntil`. */
  claimDue(now: number, leaseUntil: number, limit: number): Promise<WebhookDeliveryRecord[]>;
  update(delivery: WebhookDeliveryRecord): Promise<void>;
  /**
   * Records how a claimed delivery went, only while the claim made with `leaseUntil` still holds it: a sender whose
   * lease ran out (another process has claimed the delivery since) changes nothing. False when it did not hold.
   */
  finish(delivery: WebhookDeliveryRecord, leaseUntil: number): Promise<boolean>;
  find(id: string): Promise<WebhookDeliveryRecord | undefined>;
  list(filter: { webhookId?: string; status?: DeliveryStatus; beforeId?: string; limit: number }): Promise<WebhookDeliveryRecord[]>;
  /** The earliest time a pending delivery is due, if any. */
  nextDue(): Promise<number | null>;
  /** How many deliveries wait (pending), are being sent (sending) or gave up (failed); delivered ones are not counted. */
  countUndelivered(): Promise<Record<Exclude<DeliveryStatus, 'delivered'>, number>>;
  clear(): Promise<void>;
}

/** A single sign-on attempt between the redirect to the identity provider and its callback. */
export interface SsoAttemptRecord {
  stateHash: string;
  connectionId: string;
  /** The PKCE code verifier, sealed. */
  verifier: string;
  nonce: string;
  redirectUri: string;
  createdAt: number;
  expiresAt: number;
  /** Where the sign-in started (a remote address, or its network): pending attempts are capped per source. */
  source: string;
}

export interface SsoAttemptStore {
  insert(attempt: SsoAttemptRecord): Promise<void>;
  /** Removes and returns the attempt: a state is good for one callback. */
  take(stateHash: string): Promise<SsoAttemptRecord | undefined>;
  /** Removes up to `limit` attempts expired at `now`; how many it removed. */
  removeExpired(now: number, limit: number): Promise<number>;
  /** A source's attempts not expired at `now`, and when the first of them expires. */
  pending(now: number, source: string): Promise<{ count: number; firstExpiry: number | null }>;
  /** Every attempt stored, expired or not. */
  count(): Promise<number>;
  /** Removes the `count` attempts that started first. */
  removeOldest(count: number): Promise<void>;
}

/** Which local record an id of another instance's record resolved to. */
export interface RecordLink {
  kind: RecordKind;
  foreignId: string;
  localId: string;
}

/** Customers, users and agents as configuration names them, and the links a receiver made to its own. */
export interface RecordStore {
  /** The records of a kind with these ids. */
  byIds(kind: RecordKind, ids: string[]): Promise<RecordSummary[]>;
  /** The records of a kind holding these third-party ids. */
  byThirdPartyIds(kind: RecordKind, thirdPartyIds: string[]): Promise<RecordSummary[]>;
  /** The local ids that these ids of other instances' records were resolved to, by foreign id. */
  links(kind: RecordKind, foreignIds: string[]): Promise<Map<string, string>>;
  /** Records links, replacing any earlier link of the same foreign id. */
  saveLinks(links: RecordLink[]): Promise<void>;
  /** Every link of a kind, by foreign id, a page after `afterForeignId`. */
  linksAfter(kind: RecordKind, afterForeignId: string | null, limit: number): Promise<RecordLink[]>;
  /** Forgets every link (a restore from production takes production's). */
  clearLinks(): Promise<void>;
}

/** Per-instance integer aliases of global ids (the Halo dialect's ids): assigned once, never reused. */
export interface IdAliasStore {
  /** The aliases these global ids already have. */
  aliasesOf(globalIds: string[]): Promise<Map<string, number>>;
  /** The global id an alias stands for. */
  globalIdOf(alias: number): Promise<string | undefined>;
  /** Gives each of these global ids without an alias the next free one; run in a write transaction. */
  assign(globalIds: string[], at: number): Promise<Map<string, number>>;
}

export interface Stores {
  entities: EntityStore;
  changes: ChangeStore;
  instance: InstanceStore;
  settings: SettingsStore;
  agents: AgentStore;
  tokens: TokenStore;
  applications: ApplicationStore;
  accessTokens: AccessTokenStore;
  sessions: SessionStore;
  audit: AuditStore;
  throttle: ThrottleStore;
  peers: PeerStore;
  downstream: DownstreamStore;
  summary: ChangeSummaryStore;
  history: SyncHistoryStore;
  syncRequests: SyncRequestStore;
  desk: DeskStore;
  deliveries: WebhookDeliveryStore;
  ssoAttempts: SsoAttemptStore;
  records: RecordStore;
  aliases: IdAliasStore;
  promotionRequests: PromotionRequestStore;
}

/**
 * `stores` with some of its stores replaced (a wrapper that defers or records writes); the others are still those of
 * `stores`, made on first use. Spreading `stores` would not do: its stores are getters.
 */
export function withStores(stores: Stores, overrides: Partial<Stores>): Stores {
  const out = Object.create(stores) as Stores;
  for (const [key, value] of Object.entries(overrides)) Object.defineProperty(out, key, { value, enumerable: true });
  return out;
}

/** Where use cases start transactions. Stores never start their own. */
/** A transactor whose writes and reads all run in one transaction already open (`stores`): use cases made over it commit together. */
export function joinedTransactor(stores: Stores): Transactor {
  return { write: (fn) => fn(stores), read: (fn) => fn(stores) };
}

export interface Transactor {
  /** A transaction holding the instance's write lock: change-log appends are serialised. */
  write<T>(fn: (stores: Stores) => Promise<T>): Promise<T>;
  /** A consistent read-only snapshot. */
  read<T>(fn: (stores: Stores) => Promise<T>): Promise<T>;
}
