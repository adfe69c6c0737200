import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../../test/support/instance.js';
import { newId } from '../../shared/ids.js';
import type { EntityRecord, EntitySortKey, TicketFilter, TicketRecord, TicketSortKey, Unpaged } from '../ports.js';

const customers = ['c1', 'c2', 'c3'];
const teams = ['t1', 't2'];
const summaries = ['alpha', 'bravo', 'Bravo', 'charlie', 'alpha beta'];
const ticketKeys: Record<TicketSortKey, (t: TicketRecord) => string | number | null> = {
  id: (t) => t.id,
  summary: (t) => t.summary,
  createdAt: (t) => t.createdAt,
  updatedAt: (t) => t.updatedAt,
  priority: (t) => t.priority,
};
const compare = (x: string | number | null, y: string | number | null) => (x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1);
const sortedBy = <R extends { id: string }>(rows: R[], key: (r: R) => string | number | null, desc: boolean) =>
  [...rows].sort((a, b) => (desc ? -1 : 1) * (compare(key(a), key(b)) || compare(a.id, b.id)));

/**
 * For all filters, orders and page sizes, a numbered page's count is the number of rows the filter matches, and its
 * pages, read by that count, hold each of them once in the order asked for (nulls smallest, ties by id), on every engine.
 */
describe.each(engines)('numbered pages of the stores on %s', (engine) => {
  let t: TestInstance;
  let tickets: TicketRecord[];
  let assets: EntityRecord[];

  beforeAll(async () => {
    t = await createTestInstance(engine);
    const base = Date.now() - 1_000_000;
    tickets = fc.sample(fc.record({ customer: fc.constantFrom(...customers), team: fc.option(fc.constantFrom(...teams), { nil: null }), summary: fc.constantFrom(...summaries), priority: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }), closed: fc.boolean(), at: fc.integer({ min: 0, max: 20 }) }), { numRuns: 40, seed: 11 }).map(
      (r, i) => ({
        id: newId(base + i),
        number: i + 1,
        customerId: r.customer,
        userId: null,
        ticketTypeId: 'tt',
        statusId: null,
        teamId: r.team,
        agentId: i % 5 === 0 ? 'a1' : null,
        priority: r.priority,
        summary: r.summary,
        details: '',
        closed: r.closed,
        workflowId: null,
        stepId: null,
        createdBy: 'a1',
        createdAt: base + r.at,
        updatedAt: base + r.at * 2,
      }),
    );
    assets = customers.flatMap((customerId, i) =>
      [0, 1, 2].map((n) => ({ id: newId(base + i * 10 + n), type: 'assets', name: `${summaries[(i + n) % summaries.length]}`, body: { name: 'x', assetTypeId: 'at', customerId, fields: {} }, head: null, createdAt: base + n, updatedAt: base + n })),
    );
    assets.push({ id: newId(base + 99), type: 'assets', name: 'nobody', body: { name: 'nobody', assetTypeId: 'at', fields: {} }, head: null, createdAt: base, updatedAt: base });
    await t.db.write(async (stores) => {
      for (const id of customers) await stores.desk.insertCustomer({ id, name: id, thirdPartyId: null, createdAt: base, updatedAt: base });
      for (const ticket of tickets) await stores.desk.insertTicket(ticket);
      for (const asset of assets) await stores.entities.insert(asset);
    });
  });
  afterAll(() => t?.close());

  const everyPage = async <R, K extends string>(read: (page: { by: K; desc: boolean; offset: number; limit: number }) => Promise<{ rows: R[]; total: number }>, by: K, desc: boolean, size: number) => {
    const rows: R[] = [];
    const totals: number[] = [];
    for (let offset = 0; offset === 0 || offset < totals.at(-1)!; offset += size) {
      const page = await read({ by, desc, offset, limit: size });
      totals.push(page.total);
      rows.push(...page.rows);
    }
    return { rows, totals };
  };

  it('pages tickets under any filter and order', async () => {
    const filter = fc.record(
      {
        customerIds: fc.subarray(customers),
        teamId: fc.constantFrom(...teams),
        closed: fc.boolean(),
        summaryContains: fc.constantFrom('alpha', 'BRAVO', 'a'),
        visibility: fc.record({ kind: fc.constant('limited' as const), agentId: fc.constant('a1'), teamIds: fc.subarray(teams), unassigned: fc.boolean(), assignedToOthers: fc.boolean() }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(filter, fc.constantFrom(...(Object.keys(ticketKeys) as TicketSortKey[])), fc.boolean(), fc.integer({ min: 1, max: 7 }), async (f, by, desc, size) => {
        const unpaged: Unpaged<TicketFilter> = { visibility: { kind: 'all' }, ...f };
        const matching = await t.db.read((stores) => stores.desk.listTickets({ ...unpaged, limit: 1000 }));
        const paged = await everyPage((page) => t.db.read((stores) => stores.desk.pageTickets(unpaged, page)), by, desc, size);
        expect(paged.totals.every((n) => n === matching.length)).toBe(true);
        expect(paged.rows.map((r) => r.id)).toEqual(sortedBy(matching, ticketKeys[by], desc).map((r) => r.id));
      }),
      { numRuns: 30 },
    );
  });

  it('keeps a ticket count only until the next write to the tickets', async () => {
    const open: Unpaged<TicketFilter> = { visibility: { kind: 'all' }, customerIds: ['c1'], closed: false };
    const count = () => t.db.read(async (stores) => (await stores.desk.pageTickets(open, { by: 'id', desc: true, offset: 0, limit: 1 })).total);
    const truth = async () => (await t.db.read((stores) => stores.desk.listTickets({ ...open, limit: 1000 }))).length;
    const before = await count();
    expect(before).toBe(await truth());
    expect(await count()).toBe(before);
    const ticket = { ...tickets.find((x) => x.customerId === 'c1')!, id: newId(), number: 1000, closed: false };
    await t.db.write((stores) => stores.desk.insertTicket(ticket));
    expect(await count()).toBe(before + 1);
    await t.db.write((stores) => stores.desk.updateTicket({ ...ticket, closed: true }));
    expect(await count()).toBe(before);
    // A write that rolls back leaves the version, and the count kept under it, as they were.
    await expect(
      t.db.write(async (stores) => {
        await stores.desk.updateTicket({ ...ticket, closed: false });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await count()).toBe(before);
    expect(await truth()).toBe(before);
    await t.db.write((stores) => stores.desk.updateTicket({ ...ticket, closed: false, customerId: 'c2' }));
    expect(await count()).toBe(before);
    tickets.push({ ...ticket, closed: false, customerId: 'c2' });
  });

  it('pages entities matching body fields, as a customer scope asks', async () => {
    const keys: Record<EntitySortKey, (e: EntityRecord) => string | number> = { id: (e) => e.id, name: (e) => e.name, createdAt: (e) => e.createdAt, updatedAt: (e) => e.updatedAt };
    await fc.assert(
      fc.asyncProperty(fc.option(fc.subarray(customers), { nil: undefined }), fc.constantFrom(...(Object.keys(keys) as EntitySortKey[])), fc.boolean(), fc.integer({ min: 1, max: 4 }), async (scope, by, desc, size) => {
        const query = { type: 'assets', ...(scope ? { bodyMatches: [{ field: 'customerId', anyOf: scope }] } : {}) };
        const expected = assets.filter((a) => !scope || scope.includes(a.body.customerId as string));
        const paged = await everyPage((page) => t.db.read((stores) => stores.entities.page(query, page)), by, desc, size);
        expect(paged.totals.every((n) => n === expected.length)).toBe(true);
        expect(paged.rows.map((r) => r.id)).toEqual(sortedBy(expected, keys[by], desc).map((r) => r.id));
      }),
      { numRuns: 25 },
    );
  });
});
