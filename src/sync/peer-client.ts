import type { RecordKind, RecordSummary } from '../shared/records.js';
import type { ChangeRecord, CustomerRecord, DeskUserRecord, EntityRecord, RecordLink, StoredChange } from '../store/ports.js';
import type { Selection } from './outgoing.js';
import type { RecordDescription } from './record-descriptions.js';
import type { SummarySource } from './reconcile.js';
import type { KeyRanges, SummaryExchange, SummaryExchangeAnswer } from './summary.js';
import type { AddedChange, BatchOutcome, SenderInfo, SyncProblem, TransferChange } from './transfer.js';

/** What an instance says of itself to its peers. */
export interface PeerHello {
  instanceId: string;
  name: string;
  kind: string;
  version: string;
  source: { instanceId: string; name: string } | null;
  inPipeline: boolean;
  refusePushes: boolean;
  skipDiffCheck: boolean;
  /** Ids (fingerprints) of the secret keys it holds: peers must share the key that seals synced secrets. */
  keyIds: string[];
  headSeq: number;
  /** How its reconciliation summary is built (fingerprint and tree): counts are exact only between equal formats. */
  summaryFormat?: number;
}

/** A batch sent to a receiver. */
export interface ReceiveRequest {
  sender: SenderInfo;
  operation: 'push' | 'pull' | 'import';
  changes: TransferChange[];
  dryRun: boolean;
  idempotencyKey?: string | undefined;
  allowMissing: string[];
  /** The sender's descriptions of the records (customers, users, agents) the changes name by id; none when absent. */
  records?: RecordDescription[] | undefined;
  /** What the changes came through, recorded on each (ChangeReceipt.via): the sender's name unless said (an import's checksum). */
  via?: string | undefined;
  /** Who asked for the batch, where the receiver holds it for approval (its sender's agent); the caller here when absent. */
  requester?: { agentId?: string | null; name: string; email: string | null } | undefined;
  /** Why, in the requester's words, shown on the request a held batch becomes. */
  description?: string | undefined;
}

/** The promotion request a batch became where the receiver's policy asks for approvals (nothing was applied). */
export interface HeldRequest {
  id: string;
  status: string;
  approvalsRequired: number;
  planDigest: string;
}

/**
 * A batch read as it is sent: its changes a page at a time, in order, each page read only when the one before is on
 * its way, with their bodies as the sender stores them (the texts go out as they are, never parsed).
 */
export interface ChangeStream {
  count: number;
  pages(): AsyncIterable<StoredChange[]>;
  /** The records the changes name, described once every page was read: they follow the changes (none when absent). */
  records?(): Promise<RecordDescription[]>;
}

/** A batch sent as it is read (see ChangeStream). */
export interface StreamedReceiveRequest extends Omit<ReceiveRequest, 'changes' | 'records'> {
  changes: ChangeStream;
}

/** What a receiver answered a streamed batch, with the changes that were sent. */
export interface StreamedReceiveResult extends ReceiveResult {
  sent: StoredChange[];
}

export interface ReceiveResult extends BatchOutcome {
  /** True when an earlier request with the same idempotency key answered this. */
  replayed: boolean;
  /** How many approvals the receiver's policy asks before a batch applies there; absent when none. */
  approvalsRequired?: number;
  /** The request the batch became instead of being applied, where the receiver asks for approvals. */
  request?: HeldRequest;
}

/** Changes a sender chose for a receiver, with sender seqs for display. */
export interface OutgoingTransfer {
  changes: (TransferChange & { seq: number })[];
  added: AddedChange[];
  leftOut: string[];
  heldBackByCutoff: number;
  problems: SyncProblem[];
  /** The sender's descriptions of the records the changes name by id (none when absent). */
  records?: RecordDescription[];
}

/** What a sender chose for a receiver, the changes to be read as they are sent (see ChangeStream). */
export interface StreamedOutgoing extends Omit<OutgoingTransfer, 'changes' | 'records'> {
  /** The sender's log positions of the changes, in order. */
  seqs: number[];
  changes: ChangeStream;
}

/** A full change as stored by the peer (restore copies it). */
export type LoggedChange = ChangeRecord;

/** A round of a reconciliation asked of a peer; with `hello`, the peer's hello comes with it (one request fewer for a status). */
export type PeerExchange = SummaryExchange & { hello?: boolean };
export type PeerExchangeAnswer = SummaryExchangeAnswer & { hello?: PeerHello };

/** A linked instance over the sync protocol (`/v1/sync/*`). */
export interface PeerConnection extends SummarySource {
  hello(): Promise<PeerHello>;
  exchange(request: PeerExchange): Promise<PeerExchangeAnswer>;
  /** Keys of the peer's changes after its log seq `afterSeq` ("don't check diffs"). */
  keysAfter(afterSeq: number): Promise<{ keys: KeyRanges; headSeq: number }>;
  outgoing(lacking: KeyRanges, selection: Selection): Promise<OutgoingTransfer>;
  /** Has the peer check and apply a batch (see SyncReceiver.receive), the batch read as it is sent. */
  receiveStreamed(request: StreamedReceiveRequest): Promise<StreamedReceiveResult>;
  registerDownstream(me: { instanceId: string; name: string }): Promise<void>;
  unregisterDownstream(instanceId: string): Promise<void>;
  /** The peer's log in its order, a page after `afterSeq`. */
  log(afterSeq: number, limit: number): Promise<LoggedChange[]>;
  /** The peer's entities of one tracked type (bodies as stored, secrets sealed), a page after `afterId`. */
  entities(type: string, afterId: string | null, limit: number): Promise<EntityRecord[]>;
  /** The peer's records of one kind by id, a page after `afterId`: customers and users whole, agents described (see PeerRecordKinds). */
  records<K extends RecordKind>(kind: K, afterId: string | null, limit: number): Promise<PeerRecordKinds[K][]>;
  /** The peer's links from other instances' records of one kind to its own, by foreign id, a page after `afterForeignId`. */
  recordLinks(kind: RecordKind, afterForeignId: string | null, limit: number): Promise<RecordLink[]>;
  /** Per tracked type: how many entities and a digest of their ids and bodies. */
  stateDigests(): Promise<TypeDigest[]>;
  /** Per entity of the given types: id, name, head and body digest. */
  stateEntities(types: string[]): Promise<EntityDigest[]>;
  /** Entities by id, secrets masked (for field diffs). */
  entitiesById(ids: string[]): Promise<EntityRecord[]>;
  /** Asks the peer to plan or carry out its part of a pipeline restore from the production instance `productionId`. */
  restore(request: { confirm: boolean; dryRun: boolean; fingerprint?: string; productionId: string }): Promise<unknown>;
}

/** Records as a restore copies them from production: customers and users whole; agents only described, as they stay each instance's own. */
export interface PeerRecordKinds {
  customer: CustomerRecord;
  user: DeskUserRecord;
  agent: RecordSummary;
}

export interface TypeDigest {
  type: string;
  count: number;
  digest: string;
}

export interface EntityDigest {
  type: string;
  id: string;
  name: string;
  head: string | null;
  digest: string;
}

export interface PeerAddress {
  url: string;
  clientId: string;
  clientSecret: string;
}

/** Opens connections to peers; the http layer implements it. */
export interface PeerConnector {
  connect(peer: PeerAddress): PeerConnection;
}
