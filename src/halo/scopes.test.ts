import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { permissions, type Permission } from '../access/permissions.js';
import { ALL_SCOPE, haloScopes, permissionsOfScope } from './scopes.js';

const ownArb = fc.subarray([...permissions]);
const tokenArb = fc.oneof(fc.constantFrom(ALL_SCOPE, ...Object.keys(haloScopes), ...permissions), fc.string({ maxLength: 20 }));

describe('Halo scopes', () => {
  it('never grant a permission the application lacks, whatever the scope', () => {
    fc.assert(
      fc.property(ownArb, tokenArb, (own, token) => {
        const granted = permissionsOfScope(token, own);
        if (granted) for (const p of granted) expect(own).toContain(p);
        if (granted) expect(granted.length).toBeGreaterThan(0);
      }),
    );
  });

  it('grant with all exactly what the application has, and with a Halo scope what it maps to of that', () => {
    fc.assert(
      fc.property(ownArb, fc.constantFrom(...Object.keys(haloScopes)), (own, scope) => {
        expect(permissionsOfScope(ALL_SCOPE, own)).toEqual(own.length > 0 ? own : null);
        const mapped = own.filter((p: Permission) => haloScopes[scope]!.includes(p));
        expect(permissionsOfScope(scope, own)).toEqual(mapped.length > 0 ? mapped : null);
      }),
    );
  });

  it('map the guide’s application scopes onto its permissions', () => {
    const own: Permission[] = ['tickets:read', 'tickets:edit', 'customers:read', 'assets:read', 'assets:edit'];
    expect(['read:tickets', 'edit:tickets', 'read:customers', 'read:assets', 'edit:assets'].flatMap((s) => permissionsOfScope(s, own) ?? [])).toEqual(own);
    expect(permissionsOfScope('edit:customers', own)).toBeNull();
  });
});
