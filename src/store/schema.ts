/** Row shapes of every table, as Kysely sees them. JSON columns hold canonical JSON text. */
export interface Database {
  instance_info: InstanceInfoTable;
  settings: SettingsTable;
  agents: AgentsTable;
  api_tokens: ApiTokensTable;
  applications: ApplicationsTable;
  access_tokens: AccessTokensTable;
  sessions: SessionsTable;
  audit_events: AuditEventsTable;
  auth_throttle: AuthThrottleTable;
  entities: EntitiesTable;
  entity_refs: EntityRefsTable;
  changes: ChangesTable;
  change_log_head: ChangeLogHeadTable;
  peers: PeersTable;
  downstream_instances: DownstreamInstancesTable;
  summary_nodes: SummaryNodesTable;
  change_buckets_mark: ChangeBucketsMarkTable;
  sync_requests: SyncRequestsTable;
  customers: CustomersTable;
  record_links: RecordLinksTable;
  desk_users: DeskUsersTable;
  tickets: TicketsTable;
  ticket_actions: TicketActionsTable;
  inbound_mail: InboundMailTable;
  ticket_lists: TicketListsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  sso_attempts: SsoAttemptsTable;
  id_aliases: IdAliasesTable;
  promotion_requests: PromotionRequestsTable;
  promotion_request_plans: PromotionRequestPlansTable;
  row_versions: RowVersionsTable;
}

export interface CustomersTable {
  id: string;
  name: string;
  third_party_id: string | null;
  created_at: number;
  updated_at: number;
}

/** Which local record an id of another instance's record was resolved to, per kind. */
export interface RecordLinksTable {
  kind: string;
  foreign_id: string;
  local_id: string;
}

export interface DeskUsersTable {
  id: string;
  customer_id: string;
  name: string;
  email: string | null;
  third_party_id: string | null;
  created_at: number;
  updated_at: number;
}

export interface TicketsTable {
  id: string;
  number: number;
  customer_id: string;
  user_id: string | null;
  ticket_type_id: string;
  status_id: string | null;
  team_id: string | null;
  agent_id: string | null;
  priority: number | null;
  summary: string;
  details: string;
  closed: number;
  workflow_id: string | null;
  step_id: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface TicketActionsTable {
  id: string;
  ticket_id: string;
  kind: string;
  name: string;
  note: string;
  actor_kind: string;
  actor_id: string;
  actor_name: string;
  details: string;
  at: number;
}

export interface InboundMailTable {
  id: string;
  mailbox_id: string;
  mailbox_name: string;
  message_key: string;
  from_address: string | null;
  subject: string;
  outcome: string;
  ticket_id: string | null;
  reason: string | null;
  received_at: number;
}

export interface TicketListsTable {
  id: string;
  agent_id: string;
  name: string;
  shared: number;
  filters: string;
  created_at: number;
  updated_at: number;
}

export interface InstanceInfoTable {
  singleton: number;
  id: string;
  name: string;
  kind: string;
  created_at: number;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: number;
}

export interface AgentsTable {
  id: string;
  name: string;
  email: string;
  api_only: number;
  disabled: number;
  third_party_id: string | null;
  password_hash: string | null;
  client_restrictions: string;
  co_managed_customer_id: string | null;
  customer_group_override_id: string | null;
  created_at: number;
  updated_at: number;
}

export interface ApplicationsTable {
  id: string;
  name: string;
  client_id: string;
  secret_hash: string;
  agent_id: string;
  permissions: string;
  enabled: number;
  created_at: number;
  updated_at: number;
  secret_rotated_at: number;
}

export interface AccessTokensTable {
  token_hash: string;
  application_id: string;
  scopes: string;
  issued_at: number;
  expires_at: number;
}

export interface SessionsTable {
  token_hash: string;
  agent_id: string;
  csrf_hash: string;
  created_at: number;
  expires_at: number;
}

export interface AuditEventsTable {
  id: string;
  at: number;
  kind: string;
  outcome: string;
  actor_kind: string | null;
  actor_id: string | null;
  actor_name: string | null;
  remote_address: string | null;
  request_id: string | null;
  subject: string | null;
  details: string;
  /** How many events the row stands for: more than one when it coalesces a flood. */
  count: number;
  last_at: number | null;
  coalesce_key: string | null;
}

export interface AuthThrottleTable {
  key: string;
  window_start: number;
  failures: number;
  expires_at: number;
}

export interface ApiTokensTable {
  id: string;
  agent_id: string;
  token_hash: string;
  label: string;
  created_at: number;
}

export interface EntitiesTable {
  id: string;
  type: string;
  name: string;
  body: string;
  head: string | null;
  created_at: number;
  updated_at: number;
}

export interface EntityRefsTable {
  from_id: string;
  to_id: string;
  from_type: string;
  path: string;
}

export interface ChangesTable {
  seq: number;
  id: string;
  origin: string;
  origin_seq: number;
  type: string;
  entity_id: string;
  entity_name: string;
  op: string;
  before: string | null;
  after: string | null;
  parent: string | null;
  requires: string;
  actor_kind: string;
  actor_id: string;
  actor_name: string;
  at: number;
  request: string | null;
  change_set: string | null;
  revert_of: string | null;
  applied_from: string | null;
  received_by_kind: string | null;
  received_by_id: string | null;
  received_by_name: string | null;
  received_operation: string | null;
  received_via: string | null;
  received_at: number | null;
  digest: string;
  hash: string;
}

export interface ChangeLogHeadTable {
  singleton: number;
  seq: number;
  hash: string;
  origin_offset: number;
  legacy_until: number;
  legacy_seal: string | null;
}

export interface PeersTable {
  name: string;
  url: string;
  client_id: string;
  client_secret: string;
  instance_id: string | null;
  is_source: number;
  last_push_seq: number;
  last_pull_seq: number;
  last_sync_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface DownstreamInstancesTable {
  instance_id: string;
  name: string;
  registered_at: number;
}

/** Words of a bucket's member bitmap: bit j of word w is origin sequence 256 * bucket + 32 * w + j. */
export const bitmapWords = ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7'] as const;

/** A node of one origin's reconciliation summary tree: level 0 is a bucket of 256 origin sequences. */
export interface SummaryNodesTable {
  level: number;
  origin: string;
  idx: number;
  n: number;
  fp: number;
  /** Level 0 only: the bucket's member bitmap, 32 origin sequences a word (0 on inner nodes). */
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  w4: number;
  w5: number;
  w6: number;
  w7: number;
}

export interface ChangeBucketsMarkTable {
  singleton: number;
  seq: number;
}

export interface SyncRequestsTable {
  key: string;
  sender: string;
  result: string;
  at: number;
}

export interface WebhookDeliveriesTable {
  id: string;
  kind: string;
  progress: number;
  webhook_id: string;
  webhook_name: string;
  event: string;
  subject_id: string;
  payload: string;
  status: string;
  attempts: number;
  max_attempts: number;
  next_at: number;
  lease_until: number | null;
  response_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface SsoAttemptsTable {
  state_hash: string;
  connection_id: string;
  verifier: string;
  nonce: string;
  redirect_uri: string;
  created_at: number;
  expires_at: number;
  source: string;
}

/** A version per table whose counts are kept between writes (tickets): moved by every write to the table. */
export interface RowVersionsTable {
  name: string;
  version: number | string;
}

export interface IdAliasesTable {
  alias: number;
  global_id: string;
  created_at: number;
}

export interface PromotionRequestsTable {
  id: string;
  status: string;
  scheduled_at: number | null;
  created_at: number;
  updated_at: number;
  /** The request but its plan and batch, as JSON. */
  document: string;
}

/** A request's long parts, apart from its row (which every verdict rewrites): written when it is created or re-planned. */
export interface PromotionRequestPlansTable {
  id: string;
  /** The request's plan (its changes, entities, problems and counts), as JSON. */
  plan: string;
  /** The batch the request holds, as JSON. */
  batch: string;
}
