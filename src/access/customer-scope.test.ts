import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../shared/errors.js';
import type { AgentRecord, EntityRecord } from '../store/ports.js';
import { assertInScope, customerScope, inScope } from './customer-scope.js';

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
    expect(customerScope({ agent: agent(true, []), isAdministrator: false }, [role(true, [])])).toEqual({ kind: 'all' });
    const scope = customerScope({ agent: agent(false, ['c1', 'c2']), isAdministrator: false }, [role(true, [])]);
    expect(inScope(scope, 'c1')).toBe(true);
    expect(inScope(scope, 'c3')).toBe(false);
    expect(inScope(scope, null)).toBe(false);
  });

  it('narrows to the intersection of every restriction (property)', () => {
    const ids = fc.uniqueArray(fc.constantFrom('c1', 'c2', 'c3', 'c4', 'c5'), { maxLength: 5 });
    const restriction = fc.record({ all: fc.boolean(), ids });
    fc.assert(
      fc.property(restriction, fc.array(restriction, { maxLength: 4 }), fc.constantFrom('c1', 'c2', 'c3', 'c4', 'c5'), (a, roles, customer) => {
        const scope = customerScope({ agent: agent(a.all, a.ids), isAdministrator: false }, roles.map((r) => role(r.all, r.ids)));
        const expected = [a, ...roles].every((r) => r.all || r.ids.includes(customer));
        expect(inScope(scope, customer)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('answers out-of-scope records as not found', () => {
    const scope = customerScope({ agent: agent(false, ['c1']), isAdministrator: false }, []);
    const notFound = () => new DomainError('ENTITY_NOT_FOUND', 'No such record.');
    expect(() => assertInScope(scope, 'c2', notFound)).toThrow(expect.objectContaining({ code: 'ENTITY_NOT_FOUND' }));
    expect(() => assertInScope(scope, 'c1', notFound)).not.toThrow();
  });
});
