import type { TeamMembership } from '../../src/access/agent-access.js';
import { hashPassword } from '../../src/access/passwords.js';
import type { Permission, RoleGrants } from '../../src/access/permissions.js';
import { credentialPrefixes, hashCredential, mintCredential } from '../../src/access/secrets.js';
import type { Services } from '../../src/services.js';
import type { WriteContext } from '../../src/shared/actor.js';
import { newId } from '../../src/shared/ids.js';
import type { AgentRecord, ApplicationRecord, ClientRestrictions, Transactor } from '../../src/store/ports.js';

/** What the helpers need from a test instance (createTestInstance and createTestApp both fit). */
export interface PrincipalHost {
  db: Transactor;
  services: Services;
  /** The bootstrap administrator's write context: roles and teams are written as it. */
  ctx: WriteContext;
}

/** A role body as the `roles` catalog type takes it; omitted fields take the type's defaults. */
export interface RoleInput extends RoleGrants {
  name?: string;
  ticketPermissions?: Record<string, boolean>;
  teamMemberships?: TeamMembership[];
  customerRestrictions?: ClientRestrictions;
  ticketGroupRestrictions?: { restrictToGroups: boolean; ticketGroupIds: string[] };
}

export interface AgentInput {
  name?: string;
  email?: string;
  apiOnly?: boolean;
  disabled?: boolean;
  thirdPartyId?: string | null;
  /** Console password; hashed as sign-in expects. Omitted: no password. */
  password?: string;
  clientRestrictions?: ClientRestrictions;
  coManagedCustomerId?: string | null;
  customerGroupOverrideId?: string | null;
  /** Roles created for this agent alone (tracked writes of the `roles` type). */
  roles?: RoleInput[];
  /** Issue a personal API token; default: yes unless API-only. */
  token?: boolean;
}

export interface TestAgent {
  agent: AgentRecord;
  roleIds: string[];
  /** Personal `shp_` token, or null when none was issued. */
  token: string | null;
  /** Authorization headers for the personal token (empty without one). */
  headers: Record<string, string>;
}

export interface TestApplication {
  application: ApplicationRecord;
  clientSecret: string;
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

let sequence = 0;

/** Creates a team (tracked) and returns its id. */
export async function createTeam(host: PrincipalHost, body: { name: string; isCoManaged?: boolean } & Record<string, unknown>): Promise<string> {
  const outcome = await host.services.config.create(host.ctx, 'teams', body);
  return outcome.entity!.id;
}

/** Creates a role held by `agentIds` (tracked, so it passes the role write guard) and returns its id. */
export async function createRole(host: PrincipalHost, agentIds: string[], role: RoleInput = {}): Promise<string> {
  sequence += 1;
  const outcome = await host.services.config.create(host.ctx, 'roles', { name: `Test role ${sequence}`, ...role, agentIds });
  return outcome.entity!.id;
}

/** Issues a personal API token for an agent, stored hashed as the authenticator reads it. */
export async function issueApiToken(host: PrincipalHost, agentId: string, label = 'test token'): Promise<string> {
  const token = mintCredential(credentialPrefixes.apiToken);
  const now = host.services.clock.now();
  await host.db.write((stores) => stores.tokens.insert({ id: newId(now), agentId, tokenHash: hashCredential(token), label, createdAt: now }));
  return token;
}

/** Inserts an agent record directly, then its roles through the config service and, unless API-only, a personal token. */
/** An agent record as a new agent has it; `fields` override the defaults. */
export function agentRecord(fields: Partial<AgentRecord> = {}, now: number = Date.now()): AgentRecord {
  const id = fields.id ?? newId(now);
  return {
    id,
    name: `Test agent ${id.slice(-6)}`,
    email: `agent-${id.toLowerCase()}@example.test`,
    apiOnly: false,
    disabled: false,
    thirdPartyId: null,
    passwordHash: null,
    clientRestrictions: { allowAllCustomers: true, customerIds: [] },
    coManagedCustomerId: null,
    customerGroupOverrideId: null,
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
}

/** Inserts an agent record straight into the store (no roles, no token). */
export async function insertAgent(host: Pick<PrincipalHost, 'db'>, fields: Partial<AgentRecord> = {}, now: number = Date.now()): Promise<AgentRecord> {
  const agent = agentRecord(fields, now);
  await host.db.write((stores) => stores.agents.insert(agent));
  return agent;
}

export async function createAgent(host: PrincipalHost, input: AgentInput = {}): Promise<TestAgent> {
  const { roles, token: wantsToken, password, email, ...fields } = input;
  const agent = await insertAgent(
    host,
    {
      ...fields,
      ...(email === undefined ? {} : { email: email.toLowerCase() }),
      ...(password === undefined ? {} : { passwordHash: await hashPassword(password) }),
    },
    host.services.clock.now(),
  );
  const roleIds: string[] = [];
  for (const role of roles ?? []) roleIds.push(await createRole(host, [agent.id], role));
  const token = (wantsToken ?? !agent.apiOnly) ? await issueApiToken(host, agent.id) : null;
  return { agent, roleIds, token, headers: token ? bearer(token) : {} };
}

/** Inserts an API application logging in as `agentId`; the client secret is returned once, as the real flow does. */
export async function createApplication(
  host: PrincipalHost,
  input: { agentId: string; permissions: readonly string[]; name?: string; enabled?: boolean },
): Promise<TestApplication> {
  const now = host.services.clock.now();
  const id = newId(now);
  const clientSecret = mintCredential(credentialPrefixes.clientSecret);
  const application: ApplicationRecord = {
    id,
    name: input.name ?? `Test application ${id.slice(-6)}`,
    clientId: `client-${id.toLowerCase()}`,
    secretHash: hashCredential(clientSecret),
    agentId: input.agentId,
    permissions: [...input.permissions],
    enabled: input.enabled ?? true,
    createdAt: now,
    updatedAt: now,
    secretRotatedAt: now,
  };
  await host.db.write((stores) => stores.applications.insert(application));
  return { application, clientSecret };
}

/** Stores an `sla_` access token for an application, as POST /auth/token would, and returns the bearer value. */
export async function issueAccessToken(
  host: PrincipalHost,
  application: Pick<ApplicationRecord, 'id' | 'permissions'>,
  options: { scopes?: readonly (Permission | string)[]; ttlMs?: number } = {},
): Promise<string> {
  const token = mintCredential(credentialPrefixes.accessToken);
  const now = host.services.clock.now();
  await host.db.write((stores) =>
    stores.accessTokens.insert({
      tokenHash: hashCredential(token),
      applicationId: application.id,
      // A token asked for without a scope carries every permission of its application.
      scopes: [...(options.scopes ?? application.permissions)],
      issuedAt: now,
      expiresAt: now + (options.ttlMs ?? 60 * 60 * 1000),
    }),
  );
  return token;
}
