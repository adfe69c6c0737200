import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../shared/errors.js';
import type { AgentRecord, EntityRecord } from '../store/ports.js';
import { createBuiltinCatalog } from '../catalog/builtin/index.js';
import { assertInScope, customerScope, inScope, seesBody, seesChange } from './customer-scope.js';

function agent(allowAllCustomers: boolean, customerIds: string[]): Pick<AgentRecord, 'clientRestrictions'> & AgentRecord {
  return {
    id: 'A',
    name: 'a',
    email: 'a@x',
    apiOnly: false,
    disabled: false,
    thirdPartyId: null,
    passwordHash: null,
    clientRestrictions: { allowAllCustomers, customerIds },
    coManagedCustomerId: null,
    customerGroupOverrideId: null,
    createdAt: 0,
    updatedAt: 0,
  };
}

function role(allowAllCustomers: boolean, customerIds: string[]): EntityRecord {
  return { id: 'R', type: 'roles', name: 'r', body: { customerRestrictions: { allowAllCustomers, customerIds } }, head: null, createdAt: 0, updatedAt: 0 };
}

describe('customer scope', () => {
  it('is unrestricted only when the agent and every held role allow all customers', () => {
    expect(customerScope(agent(true, []), [role(true, [])])).toEqual({ kind: 'all' });
    const scope = customerScope(agent(false, ['c1', 'c2']), [role(true, [])]);
    expect(inScope(scope, 'c1')).toBe(true);
    expect(inScope(scope, 'c3')).toBe(false);
    expect(inScope(scope, null)).toBe(false);
  });

  it('narrows to the intersection of every restriction (property)', () => {
    const ids = fc.uniqueArray(fc.constantFrom('c1', 'c2', 'c3', 'c4', 'c5'), { maxLength: 5 });
    const restriction = fc.record({ all: fc.boolean(), ids });
    fc.assert(
      fc.property(restriction, fc.array(restriction, { maxLength: 4 }), fc.constantFrom('c1', 'c2', 'c3', 'c4', 'c5'), (a, roles, customer) => {
        const scope = customerScope(agent(a.all, a.ids), roles.map((r) => role(r.all, r.ids)));
        const expected = [a, ...roles].every((r) => r.all || r.ids.includes(customer));
        expect(inScope(scope, customer)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('answers out-of-scope records as not found', () => {
    const scope = customerScope(agent(false, ['c1']), []);
    const notFound = () => new DomainError('ENTITY_NOT_FOUND', 'No such record.');
    expect(() => assertInScope(scope, 'c2', notFound)).toThrow(expect.objectContaining({ code: 'ENTITY_NOT_FOUND' }));
    expect(() => assertInScope(scope, 'c1', notFound)).not.toThrow();
  });

  it('shows a change only when the caller sees every body it holds, and never hides configuration that is no customer’s (property)', () => {
    const catalog = createBuiltinCatalog();
    const customer = fc.option(fc.constantFrom('c1', 'c2', 'c3'), { nil: null });
    const body = fc.option(customer.map((c) => (c === null ? { name: 'x' } : { name: 'x', customerId: c })), { nil: null });
    const scope = fc.oneof(fc.constant({ kind: 'all' } as const), fc.uniqueArray(fc.constantFrom('c1', 'c2', 'c3')).map((ids) => ({ kind: 'only', customerIds: new Set<string>(ids) }) as const));
    fc.assert(
      fc.property(scope, fc.constantFrom('assets', 'teams', 'no-such-type'), body, body, (s, type, before, after) => {
        const seen = (b: Record<string, unknown> | null) => b === null || s.kind === 'all' || (typeof b.customerId === 'string' && s.customerIds.has(b.customerId));
        const expected = type !== 'assets' || (seen(before) && seen(after));
        expect(seesChange(s, catalog, { type, before, after })).toBe(expected);
        expect(seesBody(s, catalog.find(type), after)).toBe(type !== 'assets' || seen(after));
      }),
      { numRuns: 500 },
    );
  });
});
