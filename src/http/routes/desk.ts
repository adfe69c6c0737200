import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { customerInputSchema, customerPatchSchema, userInputSchema, userPatchSchema } from '../../desk/customer-service.js';
import { ticketActionInputSchema, ticketInputSchema, ticketPatchSchema } from '../../desk/ticket-service.js';
import { ticketListFiltersSchema, ticketListInputSchema, ticketListPatchSchema } from '../../desk/ticket-lists.js';
import type { Services } from '../../services.js';
import { writeContext } from '../plugins/auth.js';
import { actorSchema, entityViewSchema, pageOf, pageQuery, problems, writeOutcomeSchema } from '../schemas.js';
import { changeSetHeaders, entityPage, ifMatchHeaders, sendOutcome } from './config.js';

const idParams = z.object({ id: z.string().max(100) });
const text = z.string().max(200).optional();
const timestamps = { createdAt: z.string(), updatedAt: z.string() };

const customerSchema = z.object({ id: z.string(), name: z.string(), thirdPartyId: z.string().nullable(), ...timestamps }).meta({ id: 'Customer' });
const userSchema = z.object({ id: z.string(), customerId: z.string(), name: z.string(), email: z.string().nullable(), thirdPartyId: z.string().nullable(), ...timestamps }).meta({ id: 'User' });
const ticketSchema = z.object({
  id: z.string(),
  number: z.number().int(),
  customerId: z.string(),
  userId: z.string().nullable(),
  ticketTypeId: z.string(),
  statusId: z.string().nullable(),
  teamId: z.string().nullable(),
  agentId: z.string().nullable(),
  priority: z.number().int().nullable(),
  summary: z.string(),
  details: z.string(),
  closed: z.boolean(),
  workflowId: z.string().nullable(),
  stepId: z.string().nullable().describe('Current step of the ticket’s workflow.'),
  ...timestamps,
}).meta({ id: 'Ticket' });
const ticketDetailSchema = ticketSchema.extend({
  availableActions: z.array(z.object({ id: z.string(), name: z.string() })).describe('Workflow actions of the current step this caller may use.'),
}).meta({ id: 'TicketDetail' });
const ticketActionSchema = z.object({
  id: z.string(),
  kind: z.enum(['created', 'note', 'workflow-action', 'updated']),
  name: z.string(),
  note: z.string(),
  actor: actorSchema,
  details: z.record(z.string(), z.unknown()),
  at: z.string(),
}).meta({ id: 'TicketAction' });
const ticketListSchema = z.object({
  id: z.string(),
  agentId: z.string().describe('The agent who made the list.'),
  name: z.string(),
  shared: z.boolean(),
  filters: ticketListFiltersSchema,
  ...timestamps,
}).meta({ id: 'TicketList' });
const viewListSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  ticketTypeIds: z.array(z.string()),
  teamIds: z.array(z.string()),
  statusIds: z.array(z.string()),
  closed: z.boolean().optional(),
  summaryContains: z.string().optional(),
  visibleToTeamIds: z.array(z.string()),
}).meta({ id: 'ViewList' });
const named = { id: z.string(), name: z.string() };
const deskChoicesSchema = z.object({
  you: z.object({
    coManaged: z.boolean().describe('Uses co-managed functionality: searches tickets by text only and saves no lists.'),
    mayLogTickets: z.boolean(),
    mayFilter: z.boolean().describe('May filter ticket searches and save ticket lists.'),
  }),
  ticketTypes: z.array(z.object({ ...named, mayLog: z.boolean() })),
  statuses: z.array(z.object({ ...named, closed: z.boolean() })),
  teams: z.array(z.object({ ...named, member: z.boolean() })),
  agents: z.array(z.object(named)),
  assetTypes: z.array(z.object(named)),
}).meta({ id: 'DeskChoices', description: 'Names and choices of the desk, as far as the caller may see.' });
const mailCheckSchema = z.object({
  at: z.string(),
  ok: z.boolean(),
  read: z.number().int().describe('Messages read and acted on.'),
  skipped: z.number().int().describe('Messages left unread: larger than Shiplog takes.'),
  error: z.string().nullable().describe('Why the mailbox could not be read (never a password).'),
}).meta({ id: 'MailCheck' });
const inboundMailSchema = z.object({
  id: z.string(),
  mailboxId: z.string(),
  mailboxName: z.string(),
  messageKey: z.string().describe('The Message-ID, or a digest of a message without one.'),
  fromAddress: z.string().nullable(),
  subject: z.string(),
  outcome: z.enum(['ticket-logged', 'note-added', 'ignored']),
  ticketId: z.string().nullable(),
  reason: z.string().nullable().describe('Why the message was ignored, or how a reply was matched to its ticket.'),
  receivedAt: z.string(),
}).meta({ id: 'InboundMail' });
const deliverySchema = z.object({
  id: z.string(),
  kind: z.enum(['webhook', 'runbook', 'notification']),
  progress: z.number().int().describe('Runbook steps done; a retry resumes at the next.'),
  webhookId: z.string().describe('The webhook’s, runbook’s or notification’s id.'),
  webhookName: z.string(),
  event: z.string(),
  subjectId: z.string().describe('The ticket the event is about.'),
  status: z.enum(['pending', 'sending', 'delivered', 'failed']),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  responseStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  ...timestamps,
}).meta({ id: 'Delivery', description: 'One delivery of a webhook, runbook or notification (never its payload or a secret).' });

const customerBody = customerInputSchema.meta({ id: 'CustomerCreate' });
const customerPatchBody = customerPatchSchema.meta({ id: 'CustomerPatch' });
const userBody = userInputSchema.meta({ id: 'UserCreate' });
const userPatchBody = userPatchSchema.meta({ id: 'UserPatch' });
const ticketBody = ticketInputSchema.meta({ id: 'TicketCreate' });
const ticketPatchBody = ticketPatchSchema.meta({ id: 'TicketPatch' });
const ticketActionBody = ticketActionInputSchema.meta({ id: 'TicketActionCreate' });
const ticketListBody = ticketListInputSchema.meta({ id: 'TicketListCreate' });
const ticketListPatchBody = ticketListPatchSchema.meta({ id: 'TicketListPatch' });
const assetBody = z.record(z.string(), z.unknown()).describe('The asset’s fields; GET /v1/catalog/assets has its JSON Schema.');
/** A query's parameters that were given (present and not empty): absent ones stay absent, not undefined. */
function given<T extends Record<string, unknown>>(query: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined && value !== '')) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

const page = pageOf;
const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

/** Customers, users, tickets and assets: the desk, within each caller's client restrictions and ticket permissions. */
export const deskRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    const { customers, tickets, ticketLists, assets } = services;

    app.get(
      '/v1/customers',
      {
        config: { permission: 'customers:read' },
        schema: {
          tags: ['desk'],
          operationId: 'listCustomers', summary: 'List customers', description: 'Customers by name, only those of the caller’s client restrictions; `q` finds text in the name. Page with `cursor`.',
          querystring: z.object({ ...pageQuery, q: text.describe('Text in the name') }),
          response: { 200: page(customerSchema) },
        },
      },
      async (request) => {
        const { limit, cursor, q } = request.query;
        return customers.listCustomers(request.principal!, { limit, ...(cursor ? { cursor } : {}), ...(q ? { q } : {}) });
      },
    );
    app.post(
      '/v1/customers',
      {
        config: { permission: 'customers:edit' },
        schema: { tags: ['desk'], operationId: 'createCustomer', summary: 'Add a customer', description: 'Adds a customer; its third-party id must be unique.', body: customerBody, response: { 201: customerSchema, ...problems(409) } },
      },
      async (request, reply) => {
        const view = await customers.createCustomer(request.principal!, request.body);
        void reply.status(201).header('location', `/v1/customers/${view.id}`);
        return view;
      },
    );
    app.get(
      '/v1/customers/:id',
      { config: { permission: 'customers:read' }, schema: { tags: ['desk'], operationId: 'getCustomer', summary: 'Read a customer', description: 'One customer, if the caller’s client restrictions let it see it.', params: idParams, response: { 200: customerSchema, ...problems(404) } } },
      async (request) => customers.getCustomer(request.principal!, request.params.id),
    );
    app.patch(
      '/v1/customers/:id',
      {
        config: { permission: 'customers:edit' },
        schema: { tags: ['desk'], operationId: 'updateCustomer', summary: 'Change a customer', description: 'Only the fields sent change.', params: idParams, body: customerPatchBody, response: { 200: customerSchema, ...problems(404, 409) } },
      },
      async (request) => customers.updateCustomer(request.principal!, request.params.id, request.body),
    );
    app.delete(
      '/v1/customers/:id',
      {
        config: { permission: 'customers:edit' },
        schema: { tags: ['desk'], operationId: 'deleteCustomer', summary: 'Delete a customer', description: 'Deletes a customer; refused while it has users or tickets.', params: idParams, response: { 204: z.null(), ...problems(404, 409) } },
      },
      async (request, reply) => {
        await customers.removeCustomer(request.principal!, request.params.id);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/v1/users',
      {
        config: { permission: 'users:read' },
        schema: {
          tags: ['desk'],
          operationId: 'listUsers', summary: 'List users', description: 'Users of customers, only those of the caller’s client restrictions; `q` finds text in the name or email. Page with `cursor`.',
          querystring: z.object({ ...pageQuery, q: text.describe('Text in the name or email'), customerId: text }),
          response: { 200: page(userSchema) },
        },
      },
      async (request) => {
        const { limit, cursor, q, customerId } = request.query;
        return customers.listUsers(request.principal!, { limit, ...(cursor ? { cursor } : {}), ...(q ? { q } : {}), ...(customerId ? { customerId } : {}) });
      },
    );
    app.post(
      '/v1/users',
      {
        config: { permission: 'users:edit' },
        schema: { tags: ['desk'], operationId: 'createUser', summary: 'Add a user', description: 'Adds a user to a customer the caller may see.', body: userBody, response: { 201: userSchema, ...problems(409, 422) } },
      },
      async (request, reply) => {
        const view = await customers.createUser(request.principal!, request.body);
        void reply.status(201).header('location', `/v1/users/${view.id}`);
        return view;
      },
    );
    app.get(
      '/v1/users/:id',
      { config: { permission: 'users:read' }, schema: { tags: ['desk'], operationId: 'getUser', summary: 'Read a user', description: 'One user, if the caller’s client restrictions let it see the user’s customer.', params: idParams, response: { 200: userSchema, ...problems(404) } } },
      async (request) => customers.getUser(request.principal!, request.params.id),
    );
    app.patch(
      '/v1/users/:id',
      {
        config: { permission: 'users:edit' },
        schema: { tags: ['desk'], operationId: 'updateUser', summary: 'Change a user', description: 'Only the fields sent change.', params: idParams, body: userPatchBody, response: { 200: userSchema, ...problems(404, 409, 422) } },
      },
      async (request) => customers.updateUser(request.principal!, request.params.id, request.body),
    );
    app.delete(
      '/v1/users/:id',
      {
        config: { permission: 'users:edit' },
        schema: { tags: ['desk'], operationId: 'deleteUser', summary: 'Delete a user', description: 'Deletes a user; refused while the user has tickets.', params: idParams, response: { 204: z.null(), ...problems(404, 409) } },
      },
      async (request, reply) => {
        await customers.removeUser(request.principal!, request.params.id);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/v1/tickets',
      {
        config: { permission: 'tickets:read' },
        schema: {
          tags: ['desk'],
          operationId: 'listTickets', summary: 'List tickets', description: 'The tickets the caller may see (client restrictions, team access and ticket permissions), newest first, filtered by text, customer, team, agent, status and whether closed. Page with `cursor`.',
          querystring: z.object({
            ...pageQuery,
            q: text.describe('Text in the summary'),
            customerId: text,
            teamId: text,
            agentId: text,
            statusId: text,
            closed: booleanQuery.optional(),
          }),
          response: { 200: page(ticketSchema) },
        },
      },
      async (request) => {
        return tickets.list(request.principal!, { ...given(request.query), limit: request.query.limit });
      },
    );
    app.get(
      '/v1/tickets/export',
      {
        config: { permission: 'tickets:read' },
        schema: {
          tags: ['desk'],
          operationId: 'exportTickets', summary: 'Export tickets as CSV', description: 'The tickets the caller sees that match the filters, as a CSV file download; needs the “export tickets” ticket permission.',
          querystring: z.object({ q: text, customerId: text, teamId: text, agentId: text, statusId: text, closed: booleanQuery.optional() }),
          produces: ['text/csv'],
          response: { 200: z.string().describe('The tickets as CSV (text/csv), a file download.') },
        },
      },
      async (request, reply) => {
        const csv = await tickets.exportCsv(request.principal!, given(request.query));
        return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="tickets.csv"').header('cache-control', 'no-store').send(csv);
      },
    );
    app.post(
      '/v1/tickets',
      {
        config: { permission: 'tickets:edit' },
        schema: {
          tags: ['desk'],
          operationId: 'createTicket', summary: 'Log a ticket', description: 'Logs a ticket: the ticket type’s defaults apply, then the ticket rules for new tickets, in order; the answer names the rules that matched.',
          body: ticketBody,
          response: { 201: z.object({ ticket: ticketDetailSchema, matchedRules: z.array(z.object({ id: z.string(), name: z.string() })) }), ...problems(404, 422) },
        },
      },
      async (request, reply) => {
        const created = await tickets.create(writeContext(request), request.principal!, request.body);
        void reply.status(201).header('location', `/v1/tickets/${created.ticket.id}`);
        return created;
      },
    );
    app.get(
      '/v1/tickets/:id',
      { config: { permission: 'tickets:read' }, schema: { tags: ['desk'], operationId: 'getTicket', summary: 'Read a ticket', description: 'One ticket the caller may see, with the workflow actions of its current step the caller may use.', params: idParams, response: { 200: ticketDetailSchema, ...problems(404) } } },
      async (request) => tickets.get(request.principal!, request.params.id),
    );
    app.patch(
      '/v1/tickets/:id',
      {
        config: { permission: 'tickets:edit' },
        schema: {
          tags: ['desk'],
          operationId: 'updateTicket', summary: 'Change a ticket', description: 'Changes fields, type, team, agent or status; ticket permissions apply to each.',
          params: idParams,
          body: ticketPatchBody,
          response: { 200: ticketDetailSchema, ...problems(404, 422) },
        },
      },
      async (request) => tickets.update(writeContext(request), request.principal!, request.params.id, request.body),
    );
    app.get(
      '/v1/tickets/:id/actions',
      {
        config: { permission: 'tickets:read' },
        schema: { tags: ['desk'], operationId: 'listTicketActions', summary: 'List a ticket’s actions', description: 'The ticket’s actions (creation, notes, workflow actions, updates), oldest first.', params: idParams, response: { 200: z.object({ items: z.array(ticketActionSchema) }), ...problems(404) } },
      },
      async (request) => ({ items: await tickets.actions(request.principal!, request.params.id) }),
    );
    app.post(
      '/v1/tickets/:id/actions',
      {
        config: { permission: 'tickets:edit' },
        schema: {
          tags: ['desk'],
          operationId: 'addTicketAction', summary: 'Act on a ticket', description: 'Adds a note, or performs a workflow action of the ticket’s current step (restricted actions need their access).',
          params: idParams,
          body: ticketActionBody,
          response: { 201: z.object({ ticket: ticketDetailSchema, action: ticketActionSchema }), ...problems(404, 409) },
        },
      },
      async (request, reply) => {
        const done = await tickets.act(writeContext(request), request.principal!, request.params.id, request.body);
        void reply.status(201);
        return done;
      },
    );

    app.get(
      '/v1/ticket-lists',
      {
        config: { permission: 'tickets:read' },
        schema: { tags: ['desk'], operationId: 'listTicketLists', summary: 'List saved ticket lists', description: 'The caller’s saved ticket lists and those shared with every agent. Page with `cursor`.', querystring: z.object(pageQuery), response: { 200: page(ticketListSchema) } },
      },
      async (request) => ticketLists.list(request.principal!, { limit: request.query.limit, ...(request.query.cursor ? { cursor: request.query.cursor } : {}) }),
    );
    app.post(
      '/v1/ticket-lists',
      {
        config: { permission: 'tickets:edit' },
        schema: {
          tags: ['desk'],
          operationId: 'createTicketList', summary: 'Save a ticket list', description: 'Saves a ticket list of filters, private or shared; not for agents using co-managed functionality.',
          body: ticketListBody,
          response: { 201: ticketListSchema, ...problems(422) },
        },
      },
      async (request, reply) => {
        const list = await ticketLists.create(request.principal!, request.body);
        void reply.header('location', `/v1/ticket-lists/${list.id}`);
        return reply.code(201).send(list);
      },
    );
    app.get(
      '/v1/ticket-lists/:id',
      { config: { permission: 'tickets:read' }, schema: { tags: ['desk'], operationId: 'getTicketList', summary: 'Read a saved ticket list', description: 'One saved ticket list the caller owns or that is shared.', params: idParams, response: { 200: ticketListSchema, ...problems(404) } } },
      async (request) => ticketLists.get(request.principal!, request.params.id),
    );
    app.patch(
      '/v1/ticket-lists/:id',
      {
        config: { permission: 'tickets:edit' },
        schema: { tags: ['desk'], operationId: 'updateTicketList', summary: 'Change a saved ticket list', description: 'Changes a saved ticket list: its owner, or an administrator.', params: idParams, body: ticketListPatchBody, response: { 200: ticketListSchema, ...problems(404, 422) } },
      },
      async (request) => ticketLists.update(request.principal!, request.params.id, request.body),
    );
    app.delete(
      '/v1/ticket-lists/:id',
      {
        config: { permission: 'tickets:edit' },
        schema: { tags: ['desk'], operationId: 'deleteTicketList', summary: 'Delete a saved ticket list', description: 'Deletes a saved ticket list: its owner, or an administrator.', params: idParams, response: { 204: z.null(), ...problems(404) } },
      },
      async (request, reply) => {
        await ticketLists.remove(request.principal!, request.params.id);
        return reply.status(204).send(null);
      },
    );
    app.get(
      '/v1/ticket-lists/:id/tickets',
      {
        config: { permission: 'tickets:read' },
        schema: {
          tags: ['desk'],
          operationId: 'runTicketList', summary: 'Run a saved ticket list', description: 'The tickets of a saved ticket list the caller may see, newest first. Page with `cursor`.',
          params: idParams,
          querystring: z.object(pageQuery),
          response: { 200: page(ticketSchema), ...problems(404) },
        },
      },
      async (request) => ticketLists.tickets(request.principal!, request.params.id, { limit: request.query.limit, ...(request.query.cursor ? { cursor: request.query.cursor } : {}) }),
    );

    app.get(
      '/v1/desk/choices',
      {
        config: { permission: 'authenticated' },
        schema: {
          tags: ['desk'],
          operationId: 'getDeskChoices', summary: 'Names and choices of the desk',
          description:
            'What desk screens show by name and offer, as far as the caller may see: with `tickets:read`, the ticket types of its ticket groups (and whether it may log each), ticket statuses, its teams (every team with `config:read`) and the enabled agents it sees; with `assets:read`, asset types. Also whether the caller uses co-managed functionality (text search only, no saved lists) and may log tickets.',
          response: { 200: deskChoicesSchema },
        },
      },
      async (request) => services.deskChoices.choices(request.principal!),
    );
    app.get(
      '/v1/view-lists',
      {
        config: { permission: 'tickets:read' },
        schema: {
          tags: ['desk'],
          operationId: 'listViewLists', summary: 'List view lists', description: 'The view lists of the configuration the caller sees: those for every agent, and those for its teams.',
          response: { 200: z.object({ items: z.array(viewListSchema) }) },
        },
      },
      async (request) => ticketLists.views(request.principal!),
    );
    app.get(
      '/v1/view-lists/:id/tickets',
      {
        config: { permission: 'tickets:read' },
        schema: {
          tags: ['desk'],
          operationId: 'runViewList', summary: 'Run a view list', description: 'The tickets of a view list the caller may see, newest first. Page with `cursor`.',
          params: idParams,
          querystring: z.object(pageQuery),
          response: { 200: page(ticketSchema), ...problems(404) },
        },
      },
      async (request) => ticketLists.viewTickets(request.principal!, request.params.id, { limit: request.query.limit, ...(request.query.cursor ? { cursor: request.query.cursor } : {}) }),
    );

    app.get(
      '/v1/mailboxes/processing',
      {
        config: { permission: 'config:read' },
        schema: {
          tags: ['desk'],
          operationId: 'getMailboxProcessing', summary: 'Mailboxes this instance reads', description: 'Which mailboxes this instance reads, with which of their per-instance credentials (never a secret), why not where it does not, and how the last check went.',
          response: {
            200: z.object({
              instance: z.string(),
              items: z.array(
                z.object({
                  mailboxId: z.string(),
                  name: z.string(),
                  address: z.string(),
                  type: z.string(),
                  processes: z.boolean(),
                  credential: z
                    .object({
                      id: z.string(),
                      mailboxAddress: z.string(),
                      username: z.string().optional(),
                      clientId: z.string().optional(),
                      tenantId: z.string().optional(),
                      host: z.string().optional(),
                      port: z.number().int().optional(),
                      security: z.enum(['tls', 'starttls', 'none']).optional(),
                      folder: z.string().optional(),
                    })
                    .nullable(),
                  reason: z.string(),
                  lastCheck: mailCheckSchema.nullable().describe('The last check of a mailbox this instance reads, since it started.'),
                }),
              ),
            }),
          },
        },
      },
      async () => ({ instance: services.instance.name, items: await services.mailboxes() }),
    );
    app.post(
      '/v1/mailboxes/check',
      {
        config: { permission: 'config:edit' },
        schema: {
          tags: ['desk'],
          operationId: 'checkMailboxes', summary: 'Check mailboxes now', description: 'Reads every mailbox this instance processes now, and says how each check went.',
          response: { 200: z.object({ items: z.array(mailCheckSchema.extend({ mailboxId: z.string(), name: z.string() })) }) },
        },
      },
      async () => ({ items: await services.mail.checkNow() }),
    );
    app.get(
      '/v1/mailboxes/messages',
      {
        config: { permission: 'config:read', customers: 'every' },
        schema: {
          tags: ['desk'],
          operationId: 'listInboundMail', summary: 'List the mail log', description: 'Each message read, newest first, with the ticket it logged, the note it added, or why it was ignored. Page with `cursor`.',
          querystring: z.object({ ...pageQuery, mailboxId: text, outcome: z.enum(['ticket-logged', 'note-added', 'ignored']).optional() }),
          response: { 200: page(inboundMailSchema) },
        },
      },
      async (request) => {
        const { limit, cursor, mailboxId, outcome } = request.query;
        return services.mail.messages({ limit, ...(cursor ? { cursor } : {}), ...(mailboxId ? { mailboxId } : {}), ...(outcome ? { outcome } : {}) });
      },
    );

    app.get(
      '/v1/webhooks/deliveries',
      {
        config: { permission: 'config:read', customers: 'every' },
        schema: {
          tags: ['desk'],
          operationId: 'listWebhookDeliveries', summary: 'List webhook deliveries', description: 'The delivery log of webhooks, runbooks and notifications, newest first: event, attempts, the answer or error (never the payload or a secret). Page with `cursor`.',
          querystring: z.object({ ...pageQuery, webhookId: text, status: z.enum(['pending', 'sending', 'delivered', 'failed']).optional() }),
          response: { 200: page(deliverySchema) },
        },
      },
      async (request) => {
        const { limit, cursor, webhookId, status } = request.query;
        return services.webhooks.deliveries({ limit, ...(cursor ? { cursor } : {}), ...(webhookId ? { webhookId } : {}), ...(status ? { status } : {}) });
      },
    );
    app.post(
      '/v1/webhooks/deliveries/:id/retry',
      {
        config: { permission: 'config:edit', customers: 'every' },
        schema: { tags: ['desk'], operationId: 'retryWebhookDelivery', summary: 'Retry a failed delivery', description: 'Queues a failed delivery again; a runbook resumes at its next step.', params: idParams, response: { 200: deliverySchema, ...problems(404, 409) } },
      },
      async (request) => services.webhooks.retry(request.params.id),
    );
    app.post(
      '/v1/config/:type/:id/test-delivery',
      {
        config: { permission: 'config:edit', customers: 'every' },
        schema: {
          tags: ['desk'],
          operationId: 'sendTestDelivery', summary: 'Send a test delivery', description: 'Queues one delivery of the webhook or notification now, event `test`, with a sample ticket; sent once, not retried. Its outcome appears in the delivery log. Refused (409) where it does not fire: disabled, or not enabled for this instance.',
          params: z.object({ type: z.enum(['webhooks', 'notifications']), id: z.string().max(100) }),
          response: { 202: deliverySchema, ...problems(404, 409) },
        },
      },
      async (request, reply) => reply.code(202).send(await services.webhooks.testDelivery(request.params.type, request.params.id)),
    );

    app.get(
      '/v1/assets',
      {
        config: { permission: 'assets:read' },
        schema: {
          tags: ['desk'],
          operationId: 'listAssets', summary: 'List assets', description: 'Assets, only those of the caller’s client restrictions; filtered by text in the name and customer. Page with `cursor`.',
          querystring: z.object({ ...pageQuery, q: text.describe('Text in the name'), customerId: text }),
          response: { 200: entityPage },
        },
      },
      async (request) => {
        const { limit, cursor, q, customerId } = request.query;
        return assets.list(request.principal!, { limit, ...(cursor ? { cursor } : {}), ...(q ? { q } : {}), ...(customerId ? { customerId } : {}) });
      },
    );
    app.post(
      '/v1/assets',
      {
        config: { permission: 'assets:edit' },
        schema: {
          tags: ['desk'],
          operationId: 'createAsset', summary: 'Add an asset', description: 'Adds an asset; a change is recorded for services and business applications when their tracking is on.',
          headers: changeSetHeaders,
          body: assetBody,
          response: { 201: writeOutcomeSchema, ...problems(422, 423) },
        },
      },
      async (request, reply) => {
        const outcome = await assets.create(writeContext(request), request.principal!, request.body);
        void reply.header('location', `/v1/assets/${outcome.entity!.id}`);
        return sendOutcome(reply, outcome, 201);
      },
    );
    app.get(
      '/v1/assets/:id',
      { config: { permission: 'assets:read' }, schema: { tags: ['desk'], operationId: 'getAsset', summary: 'Read an asset', description: 'One asset the caller may see; its ETag is the version to send back in If-Match.', params: idParams, response: { 200: entityViewSchema, ...problems(404) } } },
      async (request, reply) => {
        const view = await assets.get(request.principal!, request.params.id);
        void reply.header('etag', `"${view.version}"`);
        return view;
      },
    );
    app.put(
      '/v1/assets/:id',
      {
        config: { permission: 'assets:edit' },
        schema: {
          tags: ['desk'],
          operationId: 'replaceAsset', summary: 'Replace an asset', description: 'Replaces the asset’s fields; with If-Match, refused if it changed since.',
          params: idParams,
          headers: ifMatchHeaders,
          body: assetBody,
          response: { 200: writeOutcomeSchema, ...problems(404, 422, 423) },
        },
      },
      async (request, reply) => {
        const ifMatch = request.headers['if-match'];
        return sendOutcome(reply, await assets.replace(writeContext(request), request.principal!, request.params.id, request.body, ifMatch ? { ifMatch } : {}));
      },
    );
    app.delete(
      '/v1/assets/:id',
      {
        config: { permission: 'assets:edit' },
        schema: { tags: ['desk'], operationId: 'deleteAsset', summary: 'Delete an asset', description: 'Deletes the asset; with If-Match, refused if it changed since.', params: idParams, headers: ifMatchHeaders, response: { 200: writeOutcomeSchema, ...problems(404, 409, 423) } },
      },
      async (request, reply) => {
        const ifMatch = request.headers['if-match'];
        return sendOutcome(reply, await assets.remove(writeContext(request), request.principal!, request.params.id, ifMatch ? { ifMatch } : {}));
      },
    );
  };
