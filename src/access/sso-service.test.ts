import { describe, expect, it } from 'vitest';
import { claimHolds } from './sso-service.js';

const claims = { sub: 'ada', email: 'ada@desk.test', groups: ['Service Desk Admins', 'Staff'], org: { region: 'emea-west' }, level: 3 };

describe('claim validations of single sign-on', () => {
  it.each([
    [{ claim: 'groups', operator: 'contains', value: 'Service Desk Admins' }, true],
    [{ claim: 'groups', operator: 'contains', value: 'Service Desk' }, false], // membership, not a substring of a member
    [{ claim: 'groups', operator: 'not-contains', value: 'Contractors' }, true],
    [{ claim: 'email', operator: 'contains', value: '@desk.test' }, true],
    [{ claim: 'email', operator: 'equals', value: 'ada@desk.test' }, true],
    [{ claim: 'email', operator: 'not-equals', value: 'ada@desk.test' }, false],
    [{ claim: 'org.region', operator: 'regex', value: '^emea-' }, true],
    [{ claim: 'level', operator: 'equals', value: '3' }, true],
    [{ claim: 'missing', operator: 'equals', value: '' }, false],
    [{ claim: 'missing', operator: 'not-contains', value: 'x' }, true],
    [{ claim: 'groups', operator: 'equals', value: 'Staff' }, false], // a list is never equal to one value
  ] as const)('%o holds: %s', (rule, holds) => {
    expect(claimHolds(claims, rule)).toBe(holds);
  });
});
