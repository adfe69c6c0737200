import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { customerInputSchema, customerPatchSchema, userInputSchema, userPatchSchema } from '../../desk/customer-service.js';
import { ticketActionInputSchema, ticketInputSchema, ticketPatchSchema } from '../../desk/ticket-service.js';
import { ticketListFiltersSchema, ticketListInputSchema, ticketListPatchSchema } from '../../desk/ticket-lists.js';
import type { Services } from '../../services.js';
import { writeContext } from '../plugins/auth.js';
import { actorSchema, entityViewSchema, pageQuery, problemResponses, writeOutcomeSchema } from '../schemas.js';
import { ifMatchHeaders, sendOutcome } from './config.js';

const idParams = z.object({ id: z.string().max(100) });
const text = z.string().max(200).optional();
const timestamps = { createdAt: z.string(), updatedAt: z.string() };

const customerSchema = z.object({ id: z.string(), name: z.string(), thirdPartyId: z.string().nullable(), ...timestamps });
const userSchema = z.object({ id: z.string(), customerId: z.string(), name: z.string(), email: z.string().nullable(), thirdPartyId: z.string().nullable(), ...timestamps });
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
});
const ticketDetailSchema = ticketSchema.extend({
  availableActions: z.array(z.object({ id: z.string(), name: z.string() })).describe('Workflow actions of the current step this caller may use.'),
});
const ticketActionSchema = z.object({
  id: z.string(),
  kind: z.enum(['created', 'note', 'workflow-action', 'updated']),
  name: z.string(),
  note: z.string(),
  actor: actorSchema,
  details: z.record(z.string(), z.unknown()),
  at: z.string(),
});
const ticketListSchema = z.object({
  id: z.string(),
  agentId: z.string().describe('The agent who made the list.'),
  name: z.string(),
  shared: z.boolean(),
  filters: ticketListFiltersSchema,
  ...timestamps,
});
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
});
const mailCheckSchema = z.object({
  at: z.string(),
  ok: z.boolean(),
  read: z.number().int().describe('Messages read and acted on.'),
  skipped: z.number().int().describe('Messages left unread: larger than Shiplog takes.'),
  error: z.string().nullable().describe('Why the mailbox could not be read (never a password).'),
});
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
});
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
});
/** A query's parameters that were given (present and not empty): absent ones stay absent, not undefined. */
function given<T extends Record<string, unknown>>(query: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined && value !== '')) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
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
          summary: 'List customers (only those of the caller’s client restrictions)',
          querystring: z.object({ ...pageQuery, q: text.describe('Text in the name') }),
          response: { 200: page(customerSchema), ...problemResponses },
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
        schema: { tags: ['desk'], summary: 'Add a customer', body: customerInputSchema, response: { 201: customerSchema, ...problemResponses } },
      },
      async (request, reply) => {
        const view = await customers.createCustomer(request.principal!, request.body);
        void reply.status(201).header('location', `/v1/customers/${view.id}`);
        return view;
      },
    );
    app.get(
      '/v1/customers/:id',
      { config: { permission: 'customers:read' }, schema: { tags: ['desk'], summary: 'Read a customer', params: idParams, response: { 200: customerSchema, ...problemResponses } } },
      async (request) => customers.getCustomer(request.principal!, request.params.id),
    );
    app.patch(
      '/v1/customers/:id',
      {
        config: { permission: 'customers:edit' },
        schema: { tags: ['desk'], summary: 'Change a customer', params: idParams, body: customerPatchSchema, response: { 200: customerSchema, ...problemResponses } },
      },
      async (request) => customers.updateCustomer(request.principal!, request.params.id, request.body),
    );
    app.delete(
      '/v1/customers/:id',
      {
        config: { permission: 'customers:edit' },
        schema: { tags: ['desk'], summary: 'Delete a customer without users or tickets', params: idParams, response: { 204: z.null(), ...problemResponses } },
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
          summary: 'List users of customers (only those of the caller’s client restrictions)',
          querystring: z.object({ ...pageQuery, q: text.describe('Text in the name or email'), customerId: text }),
          response: { 200: page(userSchema), ...problemResponses },
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
        schema: { tags: ['desk'], summary: 'Add a user to a customer', body: userInputSchema, response: { 201: userSchema, ...problemResponses } },
      },
      async (request, reply) => {
        const view = await customers.createUser(request.principal!, request.body);
        void reply.status(201).header('location', `/v1/users/${view.id}`);
        return view;
      },
    );
    app.get(
      '/v1/users/:id',
      { config: { permission: 'users:read' }, schema: { tags: ['desk'], summary: 'Read a user', params: idParams, response: { 200: userSchema, ...problemResponses } } },
      async (request) => customers.getUser(request.principal!, request.params.id),
    );
    app.patch(
      '/v1/users/:id',
      {
        config: { permission: 'users:edit' },
        schema: { tags: ['desk'], summary: 'Change a user', params: idParams, body: userPatchSchema, response: { 200: userSchema, ...problemResponses } },
      },
      async (request) => customers.updateUser(request.principal!, request.params.id, request.body),
    );
    app.delete(
      '/v1/users/:id',
      {
        config: { permission: 'users:edit' },
        schema: { tags: ['desk'], summary: 'Delete a user without tickets', params: idParams, response: { 204: z.null(), ...problemResponses } },
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
          summary: 'List tickets the caller may see, newest first',
          querystring: z.object({
            ...pageQuery,
            q: text.describe('Text in the summary'),
            customerId: text,
            teamId: text,
            agentId: text,
            statusId: text,
            closed: booleanQuery.optional(),
          }),
          response: { 200: page(ticketSchema), ...problemResponses },
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
          summary: 'The tickets the caller sees that match the filters, as CSV (needs the "export tickets" ticket permission)',
          querystring: z.object({ q: text, customerId: text, teamId: text, agentId: text, statusId: text, closed: booleanQuery.optional() }),
          response: { 200: z.string().describe('text/csv'), ...problemResponses },
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
          summary: 'Log a ticket: the ticket type’s defaults, then the ticket rules for new tickets, in order',
          body: ticketInputSchema,
          response: { 201: z.object({ ticket: ticketDetailSchema, matchedRules: z.array(z.object({ id: z.string(), name: z.string() })) }), ...problemResponses },
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
      { config: { permission: 'tickets:read' }, schema: { tags: ['desk'], summary: 'Read a ticket', params: idParams, response: { 200: ticketDetailSchema, ...problemResponses } } },
      async (request) => tickets.get(request.principal!, request.params.id),
    );
    app.patch(
      '/v1/tickets/:id',
      {
        config: { permission: 'tickets:edit' },
        schema: {
          tags: ['desk'],
          summary: 'Change a ticket: fields, type, team, agent, status (ticket permissions apply)',
          params: idParams,
          body: ticketPatchSchema,
          response: { 200: ticketDetailSchema, ...problemResponses },
        },
      },
      async (request) => tickets.update(writeContext(request), request.principal!, request.params.id, request.body),
    );
    app.get(
      '/v1/tickets/:id/actions',
      {
        config: { permission: 'tickets:read' },
        schema: { tags: ['desk'], summary: 'The ticket’s actions, oldest first', params: idParams, response: { 200: z.object({ items: z.array(ticketActionSchema) }), ...problemResponses } },
      },
      async (request) => ({ items: await tickets.actions(request.principal!, request.params.id) }),
    );
    app.post(
      '/v1/tickets/:id/actions',
      {
        config: { permission: 'tickets:edit' },
        schema: {
          tags: ['desk'],
          summary: 'Add a note, or perform a workflow action of the ticket’s current step',
          params: idParams,
          body: ticketActionInputSchema,
          response: { 201: z.object({ ticket: ticketDetailSchema, action: ticketActionSchema }), ...problemResponses },
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
        schema: { tags: ['desk'], summary: 'The caller’s saved ticket lists and those shared with every agent', querystring: z.object(pageQuery), response: { 200: page(ticketListSchema), ...problemResponses } },
      },
      async (request) => ticketLists.list(request.principal!, { limit: request.query.limit, ...(request.query.cursor ? { cursor: request.query.cursor } : {}) }),
    );
    app.post(
      '/v1/ticket-lists',
      {
        config: { permission: 'tickets:edit' },
        schema: {
          tags: ['desk'],
          summary: 'Save a ticket list (not for agents using co-managed functionality)',
          body: ticketListInputSchema,
          response: { 201: ticketListSchema, ...problemResponses },
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
      { config: { permission: 'tickets:read' }, schema: { tags: ['desk'], summary: 'Read a saved ticket list', params: idParams, response: { 200: ticketListSchema, ...problemResponses } } },
      async (request) => ticketLists.get(request.principal!, request.params.id),
    );
    app.patch(
      '/v1/ticket-lists/:id',
      {
        config: { permission: 'tickets:edit' },
        schema: { tags: ['desk'], summary: 'Change a saved ticket list (its owner, or an administrator)', params: idParams, body: ticketListPatchSchema, response: { 200: ticketListSchema, ...problemResponses } },
      },
      async (request) => ticketLists.update(request.principal!, request.params.id, request.body),
    );
    app.delete(
      '/v1/ticket-lists/:id',
      {
        config: { permission: 'tickets:edit' },
        schema: { tags: ['desk'], summary: 'Delete a saved ticket list (its owner, or an administrator)', params: idParams, response: { 204: z.null(), ...problemResponses } },
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
          summary: 'Run a saved ticket list: its tickets the caller may see, newest first',
          params: idParams,
          querystring: z.object(pageQuery),
          response: { 200: page(ticketSchema), ...problemResponses },
        },
      },
      async (request) => ticketLists.tickets(request.principal!, request.params.id, { limit: request.query.limit, ...(request.query.cursor ? { cursor: request.query.cursor } : {}) }),
    );

    app.get(
      '/v1/view-lists',
      {
        config: { permission: 'tickets:read' },
        schema: {
          tags: ['desk'],
          summary: 'The view lists of the configuration the caller sees (those for every agent, and for its teams)',
          response: { 200: z.object({ items: z.array(viewListSchema) }), ...problemResponses },
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
          summary: 'Run a view list: its tickets the caller may see, newest first',
          params: idParams,
          querystring: z.object(pageQuery),
          response: { 200: page(ticketSchema), ...problemResponses },
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
          summary: 'Which mailboxes this instance reads, and with which of their per-instance credentials (never a secret)',
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
            ...problemResponses,
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
          summary: 'Read every mailbox this instance processes now, and say how each check went',
          response: { 200: z.object({ items: z.array(mailCheckSchema.extend({ mailboxId: z.string(), name: z.string() })) }), ...problemResponses },
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
          summary: 'The mail log, newest first: each message read, and the ticket it logged, the note it added, or why it was ignored',
          querystring: z.object({ ...pageQuery, mailboxId: text, outcome: z.enum(['ticket-logged', 'note-added', 'ignored']).optional() }),
          response: { 200: page(inboundMailSchema), ...problemResponses },
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
          summary: 'The webhook delivery log, newest first: event, attempts, answer or error (never the payload or a secret)',
          querystring: z.object({ ...pageQuery, webhookId: text, status: z.enum(['pending', 'sending', 'delivered', 'failed']).optional() }),
          response: { 200: page(deliverySchema), ...problemResponses },
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
        schema: { tags: ['desk'], summary: 'Queue a failed delivery again', params: idParams, response: { 200: deliverySchema, ...problemResponses } },
      },
      async (request) => services.webhooks.retry(request.params.id),
    );

    app.get(
      '/v1/assets',
      {
        config: { permission: 'assets:read' },
        schema: {
          tags: ['desk'],
          summary: 'List assets (only those of the caller’s client restrictions)',
          querystring: z.object({ ...pageQuery, q: text.describe('Text in the name'), customerId: text }),
          response: { 200: page(entityViewSchema), ...problemResponses },
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
          summary: 'Add an asset (a change is recorded for services and business applications when their tracking is on)',
          body: z.record(z.string(), z.unknown()),
          response: { 201: writeOutcomeSchema, ...problemResponses },
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
      { config: { permission: 'assets:read' }, schema: { tags: ['desk'], summary: 'Read an asset', params: idParams, response: { 200: entityViewSchema, ...problemResponses } } },
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
          summary: 'Replace an asset',
          params: idParams,
          headers: ifMatchHeaders,
          body: z.record(z.string(), z.unknown()),
          response: { 200: writeOutcomeSchema, ...problemResponses },
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
        schema: { tags: ['desk'], summary: 'Delete an asset', params: idParams, headers: ifMatchHeaders, response: { 200: writeOutcomeSchema, ...problemResponses } },
      },
      async (request, reply) => {
        const ifMatch = request.headers['if-match'];
        return sendOutcome(reply, await assets.remove(writeContext(request), request.principal!, request.params.id, ifMatch ? { ifMatch } : {}));
      },
    );
  };
