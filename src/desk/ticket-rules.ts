/**
 * Ticket rules (the `ticket-rules` configuration type) applied to a ticket: pure, so the same rules give the same
 * outcome on every instance they are promoted to.
 */

export type RuleCriterion =
  | { field: 'customer'; operator: 'includes' | 'excludes'; customerIds: string[] }
  | { field: 'ticket-type'; operator: 'is' | 'is-not'; ticketTypeIds: string[] }
  | { field: 'summary'; operator: 'contains' | 'not-contains' | 'equals'; value: string }
  | { field: 'details'; operator: 'contains' | 'not-contains'; value: string }
  | { field: 'priority'; operator: 'is'; priorityLevels: number[] };

export type RuleOutcome =
  | { field: 'team'; teamId: string }
  | { field: 'agent'; agentId: string; agentThirdPartyId?: string }
  | { field: 'priority'; level: number }
  | { field: 'status'; statusId: string }
  | { field: 'ticket-type'; ticketTypeId: string };

export interface TicketRule {
  id: string;
  name: string;
  use: 'new-tickets' | 'updated-tickets' | 'both';
  sequence: number;
  stopWhenMatched: boolean;
  enabled: boolean;
  criteria: RuleCriterion[];
  outcomes: RuleOutcome[];
}

/** The fields of a ticket that rules read and set. */
export interface RuleSubject {
  customerId: string;
  ticketTypeId: string;
  summary: string;
  details: string;
  priority: number | null;
  teamId: string | null;
  agentId: string | null;
  statusId: string | null;
}

export interface RuleResult {
  ticket: RuleSubject;
  /** The rules that matched, in the order they were applied. */
  matched: { id: string; name: string }[];
}

const contains = (haystack: string, needle: string) => haystack.toLowerCase().includes(needle.toLowerCase());

export function criterionHolds(criterion: RuleCriterion, ticket: RuleSubject): boolean {
  switch (criterion.field) {
    case 'customer': {
      const listed = criterion.customerIds.includes(ticket.customerId);
      return criterion.operator === 'includes' ? listed : !listed;
    }
    case 'ticket-type': {
      const listed = criterion.ticketTypeIds.includes(ticket.ticketTypeId);
      return criterion.operator === 'is' ? listed : !listed;
    }
    case 'summary':
      if (criterion.operator === 'equals') return ticket.summary.trim().toLowerCase() === criterion.value.trim().toLowerCase();
      return criterion.operator === 'contains' ? contains(ticket.summary, criterion.value) : !contains(ticket.summary, criterion.value);
    case 'details':
      return criterion.operator === 'contains' ? contains(ticket.details, criterion.value) : !contains(ticket.details, criterion.value);
    case 'priority':
      return ticket.priority !== null && criterion.priorityLevels.includes(ticket.priority);
  }
}

function applyOutcome(ticket: RuleSubject, outcome: RuleOutcome, agentIdOf: (outcome: Extract<RuleOutcome, { field: 'agent' }>) => string | null): RuleSubject {
  switch (outcome.field) {
    case 'team':
      return { ...ticket, teamId: outcome.teamId };
    case 'agent':
      return { ...ticket, agentId: agentIdOf(outcome) ?? ticket.agentId };
    case 'priority':
      return { ...ticket, priority: outcome.level };
    case 'status':
      return { ...ticket, statusId: outcome.statusId };
    case 'ticket-type':
      return { ...ticket, ticketTypeId: outcome.ticketTypeId };
  }
}

/**
 * Applies the enabled rules for `event` in order of sequence (then name, then id): a rule matches when every one of
 * its criteria holds on the ticket as the earlier rules left it; its outcomes are applied in order; a matching rule
 * that says so stops the rules after it. `agentIdOf` resolves an agent outcome to an agent of this instance (null:
 * no such agent, the outcome is skipped).
 */
export function applyTicketRules(
  rules: readonly TicketRule[],
  event: 'new' | 'updated',
  ticket: RuleSubject,
  agentIdOf: (outcome: Extract<RuleOutcome, { field: 'agent' }>) => string | null = (o) => o.agentId,
): RuleResult {
  const wanted = event === 'new' ? 'new-tickets' : 'updated-tickets';
  const ordered = rules
    .filter((rule) => rule.enabled && (rule.use === wanted || rule.use === 'both'))
    .sort((a, b) => a.sequence - b.sequence || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let current = ticket;
  const matched: RuleResult['matched'] = [];
  for (const rule of ordered) {
    if (!rule.criteria.every((criterion) => criterionHolds(criterion, current))) continue;
    for (const outcome of rule.outcomes) current = applyOutcome(current, outcome, agentIdOf);
    matched.push({ id: rule.id, name: rule.name });
    if (rule.stopWhenMatched) break;
  }
  return { ticket: current, matched };
}
