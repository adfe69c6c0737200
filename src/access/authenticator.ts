import type { Clock } from '../shared/clock.js';
import type { Stores, Transactor } from '../store/ports.js';
import { readSettings } from '../tracking/settings-service.js';
import { agentAccess, type Principal } from './agent-access.js';
import { applicationGrants, effectivePermissions, isPermission, type Permission } from './permissions.js';
import { credentialPrefixes, hashCredential } from './secrets.js';

export interface SessionPrincipal {
  principal: Principal;
  csrfHash: string;
  sessionHash: string;
}

/** Turns presented credentials into a principal, reading agents, roles and applications fresh every time. */
export interface Authenticator {
  bearer(token: string): Promise<Principal | null>;
  session(cookieToken: string): Promise<SessionPrincipal | null>;
}

function asPermissions(values: string[]): Set<Permission> {
  return new Set(values.filter(isPermission));
}

export function createAuthenticator(deps: { db: Transactor; clock: Clock }): Authenticator {
  const { db, clock } = deps;

  async function agentPrincipal(stores: Stores, agentId: string, via: Principal['via']): Promise<Principal | null> {
    const agent = await stores.agents.find(agentId);
    if (!agent || agent.disabled) return null;
    const access = await agentAccess(stores, agent, await readSettings(stores));
    return {
      actor: { kind: 'agent', id: agent.id, name: agent.name },
      agent,
      application: null,
      via,
      permissions: access.permissions,
      isAdministrator: access.isAdministrator,
      access,
    };
  }

  async function applicationPrincipal(stores: Stores, token: string): Promise<Principal | null> {
    const record = await stores.accessTokens.find(hashCredential(token));
    if (!record || record.expiresAt <= clock.now()) return null;
    const app = await stores.applications.find(record.applicationId);
    if (!app || !app.enabled) return null;
    const base = await agentPrincipal(stores, app.agentId, 'access-token');
    if (!base) return null;
    const granted = effectivePermissions(base.permissions, applicationGrants(asPermissions(app.permissions)), applicationGrants(asPermissions(record.scopes)));
    return {
      ...base,
      actor: { kind: 'application', id: app.id, name: app.name },
      application: { id: app.id, name: app.name, clientId: app.clientId },
      permissions: granted,
      // Administrator rights never pass through an application beyond its granted permissions.
      isAdministrator: false,
    };
  }

  return {
    bearer(token) {
      return db.read(async (stores) => {
        if (token.startsWith(`${credentialPrefixes.accessToken}_`)) return applicationPrincipal(stores, token);
        const record = await stores.tokens.findByHash(hashCredential(token));
        return record ? agentPrincipal(stores, record.agentId, 'api-token') : null;
      });
    },
    session(cookieToken) {
      return db.read(async (stores) => {
        const sessionHash = hashCredential(cookieToken);
        const session = await stores.sessions.find(sessionHash);
        if (!session || session.expiresAt <= clock.now()) return null;
        const principal = await agentPrincipal(stores, session.agentId, 'session');
        if (!principal || principal.agent.apiOnly) return null;
        return { principal, csrfHash: session.csrfHash, sessionHash };
      });
    },
  };
}
