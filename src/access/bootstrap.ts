import { randomBytes } from 'node:crypto';
import type { Catalog } from '../catalog/catalog.js';
import { administratorAuthority, systemActor } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import { defaultSettings } from '../shared/settings.js';
import type { AgentRecord, Transactor } from '../store/ports.js';
import type { ChangeWriter } from '../tracking/change-writer.js';
import { ADMINISTRATOR_ROLE_ID, administratorRoleBody, ROLES_TYPE } from './administrator-role.js';
import { hashPassword } from './passwords.js';
import { credentialPrefixes, hashCredential, mintCredential } from './secrets.js';

export interface BootstrapResult {
  agent: AgentRecord;
  /** The administrator's API token, shown once. */
  token: string;
  /** The administrator's console password, shown once; null when it was given in the environment. */
  password: string | null;
}

export interface BootstrapOptions {
  adminToken?: string;
  adminPassword?: string;
  adminEmail?: string;
}

export interface Bootstrapper {
  /** First start: the Administrator role, its agent, a password and an API token. Later starts: null. */
  bootstrap(options: BootstrapOptions): Promise<BootstrapResult | null>;
  /** Issues another token for an administrator (a lost token is never shown again). */
  issueAdministratorToken(label: string): Promise<{ agent: AgentRecord; token: string }>;
}

export function createBootstrapper(deps: { db: Transactor; clock: Clock; catalog: Catalog; writer: ChangeWriter }): Bootstrapper {
  const { db, clock, catalog, writer } = deps;
  return {
    async bootstrap({ adminToken, adminPassword, adminEmail }) {
      if (adminToken !== undefined && adminToken.length < 24) throw new Error('SHIPLOG_ADMIN_TOKEN must be at least 24 characters');
      if (adminPassword !== undefined && adminPassword.length < 12) throw new Error('SHIPLOG_ADMIN_PASSWORD must be at least 12 characters');
      const password = adminPassword ?? randomBytes(12).toString('base64url');
      const passwordHash = await hashPassword(password);
      return db.write(async (stores) => {
        if ((await stores.agents.count()) > 0) return null;
        const now = clock.now();
        const agent: AgentRecord = {
          id: newId(now),
          name: 'Administrator',
          email: (adminEmail ?? 'admin@shiplog.local').toLowerCase(),
          apiOnly: false,
          disabled: false,
          thirdPartyId: null,
          passwordHash,
          clientRestrictions: { allowAllCustomers: true, customerIds: [] },
          coManagedCustomerId: null,
          customerGroupOverrideId: null,
          createdAt: now,
          updatedAt: now,
        };
        await stores.agents.insert(agent);
        const token = adminToken ?? mintCredential(credentialPrefixes.apiToken);
        await stores.tokens.insert({ id: newId(now), agentId: agent.id, tokenHash: hashCredential(token), label: 'bootstrap administrator', createdAt: now });
        // Created untracked with a fixed id, so every instance holds the same Administrator role without a conflicting create.
        const existing = await stores.entities.find(ADMINISTRATOR_ROLE_ID);
        const members = [...new Set([...(((existing?.body.agentIds as string[] | undefined) ?? [])), agent.id])];
        await writer.write(stores, {
          def: catalog.get(ROLES_TYPE),
          entityId: ADMINISTRATOR_ROLE_ID,
          current: existing,
          next: existing ? { ...existing.body, agentIds: members } : administratorRoleBody(members),
          ctx: { actor: systemActor, request: null, changeSet: null, authority: administratorAuthority },
          settings: { ...defaultSettings, configTracking: false },
        });
        return { agent, token, password: adminPassword ? null : password };
      });
    },
    issueAdministratorToken: (label) => issueAdministratorToken(db, clock, label),
  };
}

/** Issues another API token for the first enabled administrator. */
export async function issueAdministratorToken(db: Transactor, clock: Clock, label: string): Promise<{ agent: AgentRecord; token: string }> {
  return db.write(async (stores) => {
    const role = await stores.entities.find(ADMINISTRATOR_ROLE_ID);
    const ids = (role?.body.agentIds as string[] | undefined) ?? [];
    const agent = (await stores.agents.findMany(ids)).find((a) => !a.disabled);
    if (!agent) throw new Error('this instance has no enabled administrator yet: start it once with `shiplog serve`');
    const now = clock.now();
    const token = mintCredential(credentialPrefixes.apiToken);
    await stores.tokens.insert({ id: newId(now), agentId: agent.id, tokenHash: hashCredential(token), label, createdAt: now });
    return { agent, token };
  });
}
