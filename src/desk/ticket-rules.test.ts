import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyTicketRules, criterionHolds, type RuleCriterion, type RuleOutcome, type RuleSubject, type TicketRule } from './ticket-rules.js';

const ticket = (fields: Partial<RuleSubject> = {}): RuleSubject => ({
  customerId: 'cust-acme',
  ticketTypeId: 'type-incident',
  summary: 'Printer on fire',
  details: 'Second floor, near the kitchen.',
  priority: 3,
  teamId: 'team-first-line',
  agentId: null,
  statusId: 'status-new',
  ...fields,
});

let made = 0;
const rule = (fields: Partial<TicketRule>): TicketRule => {
  made += 1;
  return {
    id: `rule-${String(made).padStart(3, '0')}`,
    name: `Rule ${made}`,
    use: 'new-tickets',
    sequence: 0,
    stopWhenMatched: false,
    enabled: true,
    criteria: [],
    outcomes: [],
    ...fields,
  };
};

describe('ticket rules', () => {
  it('sends the co-managed customer’s new tickets to the co-managed team (the guide’s rule)', () => {
    const coManaged = rule({ name: 'Co-managed customer', criteria: [{ field: 'customer', operator: 'includes', customerIds: ['cust-acme'] }], outcomes: [{ field: 'team', teamId: 'team-partner' }] });
    expect(applyTicketRules([coManaged], 'new', ticket())).toEqual({ ticket: ticket({ teamId: 'team-partner' }), matched: [{ id: coManaged.id, name: coManaged.name }] });
    expect(applyTicketRules([coManaged], 'new', ticket({ customerId: 'cust-other' })).matched).toEqual([]);
  });

  it('applies rules by sequence, each on the ticket as the earlier ones left it, and stops after a matching rule that says so', () => {
    const urgent = rule({ sequence: 20, criteria: [{ field: 'priority', operator: 'is', priorityLevels: [1] }], outcomes: [{ field: 'team', teamId: 'team-major-incident' }] });
    const fire = rule({ sequence: 10, criteria: [{ field: 'summary', operator: 'contains', value: 'FIRE' }], outcomes: [{ field: 'priority', level: 1 }] });
    const stopper = rule({ sequence: 30, stopWhenMatched: true, criteria: [{ field: 'ticket-type', operator: 'is', ticketTypeIds: ['type-incident'] }], outcomes: [{ field: 'status', statusId: 'status-triage' }] });
    const after = rule({ sequence: 40, criteria: [{ field: 'details', operator: 'contains', value: 'kitchen' }], outcomes: [{ field: 'agent', agentId: 'agent-1' }] });
    const result = applyTicketRules([after, stopper, urgent, fire], 'new', ticket());
    expect(result.matched.map((m) => m.id)).toEqual([fire.id, urgent.id, stopper.id]);
    expect(result.ticket).toEqual(ticket({ priority: 1, teamId: 'team-major-incident', statusId: 'status-triage' }));
  });

  it('skips disabled rules and rules for the other event', () => {
    const outcomes: RuleOutcome[] = [{ field: 'priority', level: 9 }];
    const criteria: RuleCriterion[] = [{ field: 'summary', operator: 'not-contains', value: 'nothing like this' }];
    const disabled = rule({ enabled: false, criteria, outcomes });
    const updatesOnly = rule({ use: 'updated-tickets', criteria, outcomes });
    const both = rule({ use: 'both', criteria, outcomes: [{ field: 'ticket-type', ticketTypeId: 'type-request' }] });
    expect(applyTicketRules([disabled, updatesOnly, both], 'new', ticket()).matched.map((m) => m.id)).toEqual([both.id]);
    expect(applyTicketRules([disabled, updatesOnly, both], 'updated', ticket()).matched.map((m) => m.id)).toEqual([updatesOnly.id, both.id]);
  });

  it('leaves an agent outcome out when the agent does not resolve here', () => {
    const assign = rule({ criteria: [{ field: 'customer', operator: 'excludes', customerIds: ['cust-x'] }], outcomes: [{ field: 'agent', agentId: 'agent-elsewhere' }] });
    expect(applyTicketRules([assign], 'new', ticket({ agentId: null }), () => null).ticket.agentId).toBeNull();
    expect(applyTicketRules([assign], 'new', ticket({ agentId: null }), () => 'agent-here').ticket.agentId).toBe('agent-here');
  });

  it('compares text without regard to case, and equals on the trimmed summary', () => {
    expect(criterionHolds({ field: 'summary', operator: 'equals', value: ' printer ON FIRE ' }, ticket())).toBe(true);
    expect(criterionHolds({ field: 'details', operator: 'not-contains', value: 'KITCHEN' }, ticket())).toBe(false);
    expect(criterionHolds({ field: 'priority', operator: 'is', priorityLevels: [3] }, ticket({ priority: null }))).toBe(false);
  });

  const ids = (prefix: string) => fc.constantFrom(...[1, 2, 3].map((n) => `${prefix}-${n}`));
  const criterion: fc.Arbitrary<RuleCriterion> = fc.oneof(
    fc.record({ field: fc.constant('customer' as const), operator: fc.constantFrom('includes' as const, 'excludes' as const), customerIds: fc.uniqueArray(ids('cust'), { minLength: 1 }) }),
    fc.record({ field: fc.constant('ticket-type' as const), operator: fc.constantFrom('is' as const, 'is-not' as const), ticketTypeIds: fc.uniqueArray(ids('type'), { minLength: 1 }) }),
    fc.record({ field: fc.constant('summary' as const), operator: fc.constantFrom('contains' as const, 'not-contains' as const, 'equals' as const), value: fc.constantFrom('a', 'printer', 'b') }),
    fc.record({ field: fc.constant('priority' as const), operator: fc.constant('is' as const), priorityLevels: fc.uniqueArray(fc.integer({ min: 1, max: 4 }), { minLength: 1 }) }),
  );
  const outcome: fc.Arbitrary<RuleOutcome> = fc.oneof(
    fc.record({ field: fc.constant('team' as const), teamId: ids('team') }),
    fc.record({ field: fc.constant('priority' as const), level: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ field: fc.constant('status' as const), statusId: ids('status') }),
    fc.record({ field: fc.constant('ticket-type' as const), ticketTypeId: ids('type') }),
  );
  const rules = fc.uniqueArray(
    fc.record({
      id: fc.stringMatching(/^r[0-9a-f]{4}$/),
      name: fc.constantFrom('A', 'B', 'C'),
      use: fc.constantFrom('new-tickets' as const, 'updated-tickets' as const, 'both' as const),
      sequence: fc.integer({ min: 0, max: 5 }),
      stopWhenMatched: fc.boolean(),
      enabled: fc.boolean(),
      criteria: fc.array(criterion, { minLength: 1, maxLength: 3 }),
      outcomes: fc.array(outcome, { minLength: 1, maxLength: 3 }),
    }),
    { maxLength: 8, selector: (r) => r.id },
  );
  const subject: fc.Arbitrary<RuleSubject> = fc.record({
    customerId: ids('cust'),
    ticketTypeId: ids('type'),
    summary: fc.constantFrom('a printer', 'b', 'Printer'),
    details: fc.constant(''),
    priority: fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }),
    teamId: fc.option(ids('team'), { nil: null }),
    agentId: fc.constant(null),
    statusId: fc.option(ids('status'), { nil: null }),
  });

  it('for all rule sets and tickets: the outcome does not depend on the order rules are stored in', () => {
    fc.assert(
      fc.property(rules, subject, fc.constantFrom('new' as const, 'updated' as const), fc.integer(), (list, t, event, seed) => {
        const shuffled = [...list].sort((a, b) => ((a.id.charCodeAt(2) * seed) % 7) - ((b.id.charCodeAt(2) * seed) % 7));
        expect(applyTicketRules(shuffled, event, t)).toEqual(applyTicketRules(list, event, t));
      }),
    );
  });

  it('for all rule sets and tickets: it equals replaying the matched rules, each matched on the ticket before it and none after a stop', () => {
    fc.assert(
      fc.property(rules, subject, (list, t) => {
        const { ticket: result, matched } = applyTicketRules(list, 'new', t);
        const byId = new Map(list.map((r) => [r.id, r]));
        let replayed = t;
        for (const [i, m] of matched.entries()) {
          const r = byId.get(m.id)!;
          expect(r.enabled && r.use !== 'updated-tickets').toBe(true);
          expect(r.criteria.every((c) => criterionHolds(c, replayed))).toBe(true);
          replayed = applyTicketRules([{ ...r, criteria: [], stopWhenMatched: false }], 'new', replayed).ticket;
          if (r.stopWhenMatched) expect(i).toBe(matched.length - 1);
        }
        expect(result).toEqual(replayed);
      }),
    );
  });
});
