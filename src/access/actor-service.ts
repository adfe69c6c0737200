import { createHash, randomBytes } from 'node:crypto';
import type { Actor } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { AgentRecord, Transactor } from '../store/ports.js';

/** Every permission a route can require, as `resource:action`. */
export const permissions = [
  'config:read',
  'config:edit',
  'config:push',
  'changes:read',
  'changes:rollback',
  'settings:read',
  'settings:edit',
  'instance:read',
] as const;

export type Permission = (typeof permissions)[number];

/** An authenticated caller and what it may do. */
export interface Principal {
  actor: Actor;
  permissions: ReadonlySet<Permission>;
  isAdministrator: boolean;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** API tokens: a recognisable prefix and 256 random bits. */
export function mintToken(): string {
  return `shp_${randomBytes(32).toString('base64url')}`;
}

export interface BootstrapResult {
  agent: AgentRecord;
  /** The administrator's token, shown once; null when the instance was already bootstrapped. */
  token: string | null;
}

export interface ActorService {
  /** First start: creates the administrator and its token (given or minted). Later starts: nothing. */
  bootstrap(options: { adminToken?: string; adminEmail?: string }): Promise<BootstrapResult | null>;
  authenticate(bearer: string): Promise<Principal | null>;
  /** Issues another token for the bootstrap administrator (a lost token is never shown again). */
  issueAdministratorToken(label: string): Promise<{ agent: AgentRecord; token: string }>;
}

export function principalOf(agent: AgentRecord): Principal {
  return {
    actor: { kind: 'agent', id: agent.id, name: agent.name },
    permissions: new Set(agent.isAdministrator ? permissions : []),
    isAdministrator: agent.isAdministrator,
  };
}

export function createActorService(deps: { db: Transactor; clock: Clock }): ActorService {
  const { db, clock } = deps;
  return {
    async bootstrap({ adminToken, adminEmail }) {
      if (adminToken !== undefined && adminToken.length < 24) {
        throw new Error('SHIPLOG_ADMIN_TOKEN must be at least 24 characters');
      }
      return db.write(async (stores) => {
        if ((await stores.agents.count()) > 0) return null;
        const now = clock.now();
        const agent: AgentRecord = { id: newId(now), name: 'Administrator', email: adminEmail ?? 'admin@shiplog.local', isAdministrator: true, createdAt: now };
        await stores.agents.insert(agent);
        const token = adminToken ?? mintToken();
        await stores.tokens.insert({ id: newId(now), agentId: agent.id, tokenHash: hashToken(token), label: 'bootstrap administrator', createdAt: now });
        return { agent, token };
      });
    },
    async issueAdministratorToken(label) {
      return db.write(async (stores) => {
        const agent = await stores.agents.firstAdministrator();
        if (!agent) throw new Error('this instance has no administrator yet: start it once with `shiplog serve`');
        const now = clock.now();
        const token = mintToken();
        await stores.tokens.insert({ id: newId(now), agentId: agent.id, tokenHash: hashToken(token), label, createdAt: now });
        return { agent, token };
      });
    },
    async authenticate(bearer) {
      return db.read(async (stores) => {
        const token = await stores.tokens.findByHash(hashToken(bearer));
        if (!token) return null;
        const agent = await stores.agents.find(token.agentId);
        return agent ? principalOf(agent) : null;
      });
    },
  };
}
