import type { Kysely, Selectable, SelectQueryBuilder } from 'kysely';
import type { Actor } from '../../shared/actor.js';
import type { CustomersTable, Database, DeskUsersTable, InboundMailTable, TicketActionsTable, TicketListsTable, TicketsTable, WebhookDeliveriesTable } from '../schema.js';
import type {
  CustomerFilter,
  CustomerRecord,
  DeskRecordSortKey,
  DeskUserFilter,
  TicketFilter,
  TicketSortKey,
  Unpaged,
  DeliveryStatus,
  DeskStore,
  DeskUserRecord,
  InboundMailRecord,
  TicketActionRecord,
  TicketListRecord,
  TicketRecord,
  WebhookDeliveryRecord,
  WebhookDeliveryStore,
} from '../ports.js';
import { likeContains } from './like.js';
import { countedPage } from './numbered-page.js';
import { countOnce, moveVersion } from './row-versions.js';

function toCustomer(row: Selectable<CustomersTable>): CustomerRecord {
  return { id: row.id, name: row.name, thirdPartyId: row.third_party_id, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) };
}

function toUser(row: Selectable<DeskUsersTable>): DeskUserRecord {
  return {
    id: row.id,
    customerId: row.customer_id,
    name: row.name,
    email: row.email,
    thirdPartyId: row.third_party_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toInboundMail(row: Selectable<InboundMailTable>): InboundMailRecord {
  return {
    id: row.id,
    mailboxId: row.mailbox_id,
    mailboxName: row.mailbox_name,
    messageKey: row.message_key,
    fromAddress: row.from_address,
    subject: row.subject,
    outcome: row.outcome as InboundMailRecord['outcome'],
    ticketId: row.ticket_id,
    reason: row.reason,
    receivedAt: Number(row.received_at),
  };
}

function toTicketList(row: Selectable<TicketListsTable>): TicketListRecord {
  return {
    id: row.id,
    agentId: row.agent_id,
    name: row.name,
    shared: Number(row.shared) === 1,
    filters: JSON.parse(row.filters) as TicketListRecord['filters'],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toTicket(row: Selectable<TicketsTable>): TicketRecord {
  return {
    id: row.id,
    number: Number(row.number),
    customerId: row.customer_id,
    userId: row.user_id,
    ticketTypeId: row.ticket_type_id,
    statusId: row.status_id,
    teamId: row.team_id,
    agentId: row.agent_id,
    priority: row.priority === null ? null : Number(row.priority),
    summary: row.summary,
    details: row.details,
    closed: Number(row.closed) === 1,
    workflowId: row.workflow_id,
    stepId: row.step_id,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function ticketRow(t: TicketRecord): Selectable<TicketsTable> {
  return {
    id: t.id,
    number: t.number,
    customer_id: t.customerId,
    user_id: t.userId,
    ticket_type_id: t.ticketTypeId,
    status_id: t.statusId,
    team_id: t.teamId,
    agent_id: t.agentId,
    priority: t.priority,
    summary: t.summary,
    details: t.details,
    closed: t.closed ? 1 : 0,
    workflow_id: t.workflowId,
    step_id: t.stepId,
    created_by: t.createdBy,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
  };
}

function toAction(row: Selectable<TicketActionsTable>): TicketActionRecord {
  return {
    id: row.id,
    ticketId: row.ticket_id,
    kind: row.kind as TicketActionRecord['kind'],
    name: row.name,
    note: row.note,
    actor: { kind: row.actor_kind as Actor['kind'], id: row.actor_id, name: row.actor_name },
    details: JSON.parse(row.details) as Record<string, unknown>,
    at: Number(row.at),
  };
}

const ticketColumns: Record<TicketSortKey, string> = { id: 'id', summary: 'summary', createdAt: 'created_at', updatedAt: 'updated_at', priority: 'priority' };
const deskRecordColumns: Record<DeskRecordSortKey, string> = { id: 'id', name: 'name', createdAt: 'created_at' };

const matchesNoTicket = (filter: Unpaged<TicketFilter>) => [filter.customerIds, filter.ticketTypeIds, filter.teamIdsIn, filter.statusIdsIn].some((ids) => ids?.length === 0);

function customersWhere<O>(query: SelectQueryBuilder<Database, 'customers', O>, { customerIds, nameContains }: Unpaged<CustomerFilter>) {
  if (customerIds) query = query.where('id', 'in', customerIds);
  if (nameContains) query = query.where((eb) => likeContains(eb, 'name', nameContains));
  return query;
}

function usersWhere<O>(query: SelectQueryBuilder<Database, 'desk_users', O>, { customerIds, customerId, nameContains }: Unpaged<DeskUserFilter>) {
  if (customerIds) query = query.where('customer_id', 'in', customerIds);
  if (customerId) query = query.where('customer_id', '=', customerId);
  if (nameContains) query = query.where((eb) => eb.or([likeContains(eb, 'name', nameContains), likeContains(eb, 'email', nameContains)]));
  return query;
}

/** The tickets a filter matches, the caller's restrictions and visibility among them (its lists of ids are not empty). */
function ticketsWhere<O>(query: SelectQueryBuilder<Database, 'tickets', O>, filter: Unpaged<TicketFilter>) {
  if (filter.customerIds) query = query.where('customer_id', 'in', filter.customerIds);
  if (filter.ticketTypeIds) query = query.where('ticket_type_id', 'in', filter.ticketTypeIds);
  const v = filter.visibility;
  if (v.kind === 'limited') {
    // Its own tickets always; others only in its teams (or in none), as far as the view permissions reach.
    query = query.where((eb) => {
      const inTeams = v.teamIds.length > 0 ? eb.or([eb('team_id', 'is', null), eb('team_id', 'in', v.teamIds)]) : eb('team_id', 'is', null);
      const reach = [];
      if (v.unassigned) reach.push(eb('agent_id', 'is', null));
      if (v.assignedToOthers) reach.push(eb('agent_id', 'is not', null));
      return reach.length > 0 ? eb.or([eb('agent_id', '=', v.agentId), eb.and([inTeams, eb.or(reach)])]) : eb('agent_id', '=', v.agentId);
    });
  }
  if (filter.customerId) query = query.where('customer_id', '=', filter.customerId);
  if (filter.teamId) query = query.where('team_id', '=', filter.teamId);
  if (filter.teamIdsIn) query = query.where('team_id', 'in', filter.teamIdsIn);
  if (filter.statusIdsIn) query = query.where('status_id', 'in', filter.statusIdsIn);
  if (filter.agentId) query = query.where('agent_id', '=', filter.agentId);
  if (filter.statusId) query = query.where('status_id', '=', filter.statusId);
  if (filter.closed !== undefined) query = query.where('closed', '=', filter.closed ? 1 : 0);
  if (filter.summaryContains) query = query.where((eb) => likeContains(eb, 'summary', filter.summaryContains!));
  return query;
}

export function createDeskStore(db: Kysely<Database>): DeskStore {
  return {
    async findCustomer(id) {
      const row = await db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toCustomer(row) : undefined;
    },
    async listCustomers(filter) {
      if (filter.customerIds?.length === 0) return [];
      let query = customersWhere(db.selectFrom('customers').selectAll(), filter);
      if (filter.afterId) query = query.where('id', '>', filter.afterId);
      return (await query.orderBy('id').limit(filter.limit).execute()).map(toCustomer);
    },
    async pageCustomers(filter, page) {
      if (filter.customerIds?.length === 0) return { rows: [], total: 0 };
      return countedPage(db, 'customers', (query) => customersWhere(query, filter), deskRecordColumns, page, toCustomer);
    },
    async insertCustomer(c) {
      await db.insertInto('customers').values({ id: c.id, name: c.name, third_party_id: c.thirdPartyId, created_at: c.createdAt, updated_at: c.updatedAt }).execute();
    },
    async updateCustomer(c) {
      await db.updateTable('customers').set({ name: c.name, third_party_id: c.thirdPartyId, updated_at: c.updatedAt }).where('id', '=', c.id).execute();
    },
    async removeCustomer(id) {
      await db.deleteFrom('customers').where('id', '=', id).execute();
    },
    async customerHolds(id) {
      const users = await db.selectFrom('desk_users').select((eb) => eb.fn.countAll<number>().as('n')).where('customer_id', '=', id).executeTakeFirst();
      const tickets = await db.selectFrom('tickets').select((eb) => eb.fn.countAll<number>().as('n')).where('customer_id', '=', id).executeTakeFirst();
      return { users: Number(users?.n ?? 0), tickets: Number(tickets?.n ?? 0) };
    },
    async findUser(id) {
      const row = await db.selectFrom('desk_users').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toUser(row) : undefined;
    },
    async listUsers(filter) {
      if (filter.customerIds?.length === 0) return [];
      let query = usersWhere(db.selectFrom('desk_users').selectAll(), filter);
      if (filter.afterId) query = query.where('id', '>', filter.afterId);
      return (await query.orderBy('id').limit(filter.limit).execute()).map(toUser);
    },
    async pageUsers(filter, page) {
      if (filter.customerIds?.length === 0) return { rows: [], total: 0 };
      return countedPage(db, 'desk_users', (query) => usersWhere(query, filter), deskRecordColumns, page, toUser);
    },
    async insertUser(u) {
      await db
        .insertInto('desk_users')
        .values({ id: u.id, customer_id: u.customerId, name: u.name, email: u.email, third_party_id: u.thirdPartyId, created_at: u.createdAt, updated_at: u.updatedAt })
        .execute();
    },
    async updateUser(u) {
      await db
        .updateTable('desk_users')
        .set({ customer_id: u.customerId, name: u.name, email: u.email, third_party_id: u.thirdPartyId, updated_at: u.updatedAt })
        .where('id', '=', u.id)
        .execute();
    },
    async removeUser(id) {
      await db.deleteFrom('desk_users').where('id', '=', id).execute();
    },
    async userHolds(id) {
      const row = await db.selectFrom('tickets').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', id).executeTakeFirst();
      return { tickets: Number(row?.n ?? 0) };
    },
    async findUserByThirdPartyId(thirdPartyId) {
      const row = await db.selectFrom('desk_users').selectAll().where('third_party_id', '=', thirdPartyId).executeTakeFirst();
      return row ? toUser(row) : undefined;
    },
    async findCustomerByThirdPartyId(thirdPartyId) {
      const row = await db.selectFrom('customers').selectAll().where('third_party_id', '=', thirdPartyId).executeTakeFirst();
      return row ? toCustomer(row) : undefined;
    },
    async nextTicketNumber() {
      const row = await db.selectFrom('tickets').select((eb) => eb.fn.max<number>('number').as('n')).executeTakeFirst();
      return Number(row?.n ?? 0) + 1;
    },
    async findTicket(id) {
      const row = await db.selectFrom('tickets').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toTicket(row) : undefined;
    },
    async listTickets(filter) {
      if (matchesNoTicket(filter)) return [];
      let query = ticketsWhere(db.selectFrom('tickets').selectAll(), filter);
      if (filter.beforeId) query = query.where('id', '<', filter.beforeId);
      return (await query.orderBy('id', 'desc').limit(filter.limit).execute()).map(toTicket);
    },
    async pageTickets(filter, page) {
      if (matchesNoTicket(filter)) return { rows: [], total: 0 };
      // Halo clients ask for the same count on every page: it is counted once per version of the tickets.
      const counted = (count: () => Promise<number>) => countOnce(db, 'tickets', JSON.stringify(filter), count);
      return countedPage(db, 'tickets', (query) => ticketsWhere(query, filter), ticketColumns, page, toTicket, ['priority'], counted);
    },
    async insertTicket(t) {
      await db.insertInto('tickets').values(ticketRow(t)).execute();
      await moveVersion(db, 'tickets');
    },
    async updateTicket(t) {
      const { id: _id, number: _number, created_at: _created, created_by: _by, ...changed } = ticketRow(t);
      await db.updateTable('tickets').set(changed).where('id', '=', t.id).execute();
      await moveVersion(db, 'tickets');
    },
    async addAction(a) {
      await db
        .insertInto('ticket_actions')
        .values({
          id: a.id,
          ticket_id: a.ticketId,
          kind: a.kind,
          name: a.name,
          note: a.note,
          actor_kind: a.actor.kind,
          actor_id: a.actor.id,
          actor_name: a.actor.name,
          details: JSON.stringify(a.details),
          at: a.at,
        })
        .execute();
    },
    async listActions(ticketId) {
      return (await db.selectFrom('ticket_actions').selectAll().where('ticket_id', '=', ticketId).orderBy('id').execute()).map(toAction);
    },
    async findTicketByNumber(number) {
      const row = await db.selectFrom('tickets').selectAll().where('number', '=', number).executeTakeFirst();
      return row ? toTicket(row) : undefined;
    },
    async findUsersByEmail(email, limit) {
      return (await db.selectFrom('desk_users').selectAll().where('email', '=', email).orderBy('id').limit(limit).execute()).map(toUser);
    },
    async findInboundMail(messageKey, mailboxId) {
      let query = db.selectFrom('inbound_mail').selectAll().where('message_key', '=', messageKey);
      if (mailboxId !== undefined) query = query.where('mailbox_id', '=', mailboxId);
      const row = await query.orderBy('id').limit(1).executeTakeFirst();
      return row ? toInboundMail(row) : undefined;
    },
    async insertInboundMail(m) {
      await db
        .insertInto('inbound_mail')
        .values({
          id: m.id,
          mailbox_id: m.mailboxId,
          mailbox_name: m.mailboxName,
          message_key: m.messageKey,
          from_address: m.fromAddress,
          subject: m.subject,
          outcome: m.outcome,
          ticket_id: m.ticketId,
          reason: m.reason,
          received_at: m.receivedAt,
        })
        .execute();
    },
    async listInboundMail({ mailboxId, outcome, beforeId, limit }) {
      let query = db.selectFrom('inbound_mail').selectAll();
      if (mailboxId) query = query.where('mailbox_id', '=', mailboxId);
      if (outcome) query = query.where('outcome', '=', outcome);
      if (beforeId) query = query.where('id', '<', beforeId);
      return (await query.orderBy('id', 'desc').limit(limit).execute()).map(toInboundMail);
    },
    async findTicketList(id) {
      const row = await db.selectFrom('ticket_lists').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toTicketList(row) : undefined;
    },
    async listTicketLists({ agentId, afterId, limit }) {
      let query = db.selectFrom('ticket_lists').selectAll().where((eb) => eb.or([eb('agent_id', '=', agentId), eb('shared', '=', 1)]));
      if (afterId) query = query.where('id', '>', afterId);
      return (await query.orderBy('id').limit(limit).execute()).map(toTicketList);
    },
    async insertTicketList(l) {
      await db
        .insertInto('ticket_lists')
        .values({ id: l.id, agent_id: l.agentId, name: l.name, shared: l.shared ? 1 : 0, filters: JSON.stringify(l.filters), created_at: l.createdAt, updated_at: l.updatedAt })
        .execute();
    },
    async updateTicketList(l) {
      await db.updateTable('ticket_lists').set({ name: l.name, shared: l.shared ? 1 : 0, filters: JSON.stringify(l.filters), updated_at: l.updatedAt }).where('id', '=', l.id).execute();
    },
    async removeTicketList(id) {
      await db.deleteFrom('ticket_lists').where('id', '=', id).execute();
    },
    async clear() {
      for (const table of ['ticket_lists', 'inbound_mail', 'ticket_actions', 'tickets', 'desk_users', 'customers'] as const) await db.deleteFrom(table).execute();
      await moveVersion(db, 'tickets');
    },
  };
}

function toDelivery(row: Selectable<WebhookDeliveriesTable>): WebhookDeliveryRecord {
  return {
    id: row.id,
    kind: row.kind as WebhookDeliveryRecord['kind'],
    progress: Number(row.progress),
    webhookId: row.webhook_id,
    webhookName: row.webhook_name,
    event: row.event,
    subjectId: row.subject_id,
    payload: row.payload,
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    nextAt: Number(row.next_at),
    leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
    responseStatus: row.response_status === null ? null : Number(row.response_status),
    lastError: row.last_error,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function deliveryRow(d: WebhookDeliveryRecord): Selectable<WebhookDeliveriesTable> {
  return {
    id: d.id,
    kind: d.kind,
    progress: d.progress,
    webhook_id: d.webhookId,
    webhook_name: d.webhookName,
    event: d.event,
    subject_id: d.subjectId,
    payload: d.payload,
    status: d.status,
    attempts: d.attempts,
    max_attempts: d.maxAttempts,
    next_at: d.nextAt,
    lease_until: d.leaseUntil,
    response_status: d.responseStatus,
    last_error: d.lastError,
    created_at: d.createdAt,
    updated_at: d.updatedAt,
  };
}

export function createWebhookDeliveryStore(db: Kysely<Database>): WebhookDeliveryStore {
  return {
    async insertMany(deliveries) {
      if (deliveries.length === 0) return;
      await db.insertInto('webhook_deliveries').values(deliveries.map(deliveryRow)).execute();
    },
    async claimDue(now, leaseUntil, limit) {
      // Callers claim inside a write transaction: SQLite's single writer and PostgreSQL's write lock keep two senders apart.
      const rows = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where((eb) => eb.or([eb.and([eb('status', '=', 'pending'), eb('next_at', '<=', now)]), eb.and([eb('status', '=', 'sending'), eb('lease_until', '<', now)])]))
        .orderBy('next_at')
        .limit(limit)
        .execute();
      if (rows.length === 0) return [];
      await db
        .updateTable('webhook_deliveries')
        .set({ status: 'sending', lease_until: leaseUntil, updated_at: now })
        .where('id', 'in', rows.map((r) => r.id))
        .execute();
      return rows.map((row) => ({ ...toDelivery(row), status: 'sending' as const, leaseUntil }));
    },
    async update(d) {
      const { id: _id, created_at: _created, ...changed } = deliveryRow(d);
      await db.updateTable('webhook_deliveries').set(changed).where('id', '=', d.id).execute();
    },
    async finish(d, leaseUntil) {
      const { id: _id, created_at: _created, ...changed } = deliveryRow(d);
      const result = await db
        .updateTable('webhook_deliveries')
        .set(changed)
        .where('id', '=', d.id)
        .where('status', '=', 'sending')
        .where('lease_until', '=', leaseUntil)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async find(id) {
      const row = await db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toDelivery(row) : undefined;
    },
    async list({ webhookId, status, beforeId, limit }) {
      let query = db.selectFrom('webhook_deliveries').selectAll();
      if (webhookId) query = query.where('webhook_id', '=', webhookId);
      if (status) query = query.where('status', '=', status);
      if (beforeId) query = query.where('id', '<', beforeId);
      return (await query.orderBy('id', 'desc').limit(limit).execute()).map(toDelivery);
    },
    async countUndelivered() {
      const rows = await db
        .selectFrom('webhook_deliveries')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', 'in', ['pending', 'sending', 'failed'])
        .groupBy('status')
        .execute();
      const counts = { pending: 0, sending: 0, failed: 0 };
      for (const row of rows) counts[row.status as keyof typeof counts] = Number(row.n);
      return counts;
    },
    async nextDue() {
      const row = await db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.min<number>('next_at').as('at'))
        .where('status', 'in', ['pending', 'sending'])
        .executeTakeFirst();
      return row?.at === null || row?.at === undefined ? null : Number(row.at);
    },
    async clear() {
      await db.deleteFrom('webhook_deliveries').execute();
    },
  };
}
