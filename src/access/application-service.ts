import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Authority, WriteContext } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { parseOrThrow } from '../shared/validation.js';
import type { ApplicationRecord, Stores, Transactor } from '../store/ports.js';
import { decodeCursor, encodeCursor } from '../tracking/cursor.js';
import type { AuditLog } from './audit-log.js';
import { isPermission, permissions, type Permission } from './permissions.js';
import { credentialPrefixes, hashCredential, mintCredential } from './secrets.js';

const permissionSchema = z.enum(permissions);

const nameSchema = z.string().trim().min(1).max(200).describe('Shown in the audit log and the change list as the acting application.');
const agentIdSchema = z.string().min(1).max(100).describe('The agent the application logs in as (an API-only agent is typical); it must exist and be enabled.');
const permissionsSchema = z
  .array(permissionSchema)
  .max(100)
  .describe('What the application may do; its tokens get these intersected with its agent’s permissions (and the scopes asked for).');

/** The body of POST /v1/applications. Client id and secret are generated, never given. */
export const applicationCreateSchema = z.strictObject({
  name: nameSchema,
  authenticationMethod: z.literal('client-id-and-secret').default('client-id-and-secret').describe('The only method: client id and secret.'),
  loginType: z.literal('agent').default('agent').describe('The only login type: as the agent named in agentId.'),
  agentId: agentIdSchema,
  permissions: permissionsSchema.default([]),
  enabled: z.boolean().default(true),
});

/** The body of PATCH /v1/applications/{id}: only the fields given change. */
export const applicationPatchSchema = z.strictObject({
  name: nameSchema.optional(),
  agentId: agentIdSchema.optional(),
  permissions: permissionsSchema.optional(),
  enabled: z.boolean().optional(),
});

export interface ApplicationView {
  id: string;
  name: string;
  clientId: string;
  authenticationMethod: 'client-id-and-secret';
  loginType: 'agent';
  agentId: string;
  permissions: Permission[];
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
  secretRotatedAt: string;
}

/** An application with its client secret: returned only by create and rotate, the one time the secret is shown. */
export interface ApplicationWithSecret {
  application: ApplicationView;
  clientSecret: string;
}

export interface ApplicationPage {
  items: ApplicationView[];
  nextCursor: string | null;
}

export interface ApplicationService {
  list(query: { limit: number; cursor?: string; q?: string }): Promise<ApplicationPage>;
  get(id: string): Promise<ApplicationView>;
  /** An application is never granted a permission the caller (`ctx.authority`) does not hold. */
  create(ctx: WriteContext, input: unknown): Promise<ApplicationWithSecret>;
  /** Disabling, or moving to another agent, revokes the application's access tokens. */
  update(ctx: WriteContext, id: string, patch: unknown): Promise<ApplicationView>;
  /** Deletes the application and revokes its access tokens. */
  remove(ctx: WriteContext, id: string): Promise<void>;
  /**
   * A new secret, shown once; the old one stops working and every access token of the application is revoked. Whoever
   * gets the secret acts as the application, so the caller must hold every permission it has.
   */
  rotateSecret(ctx: WriteContext, id: string): Promise<ApplicationWithSecret>;
}

const iso = (ms: number) => new Date(ms).toISOString();

function sortedPermissions(values: readonly string[]): Permission[] {
  const held = new Set(values.filter(isPermission));
  return permissions.filter((p) => held.has(p));
}

export function applicationView(record: ApplicationRecord): ApplicationView {
  return {
    id: record.id,
    name: record.name,
    clientId: record.clientId,
    authenticationMethod: 'client-id-and-secret',
    loginType: 'agent',
    agentId: record.agentId,
    permissions: sortedPermissions(record.permissions),
    enabled: record.enabled,
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
    secretRotatedAt: iso(record.secretRotatedAt),
  };
}

function newClientId(): string {
  return `app_${randomBytes(12).toString('hex')}`;
}

async function loadApplication(stores: Stores, id: string): Promise<ApplicationRecord> {
  const record = await stores.applications.find(id);
  if (!record) throw new DomainError('APPLICATION_NOT_FOUND', `No application has id ${id}.`, { id });
  return record;
}

async function checkAgent(stores: Stores, agentId: string): Promise<void> {
  const agent = await stores.agents.find(agentId);
  if (!agent) {
    throw new DomainError('REFERENCE_NOT_FOUND', 'The application names an agent that does not exist on this instance.', {
      errors: [{ path: 'agentId', code: 'reference-not-found', message: `No agent has id ${agentId}.` }],
    });
  }
  if (agent.disabled) {
    throw new DomainError('VALIDATION_FAILED', 'An application cannot log in as a disabled agent.', {
      errors: [{ path: 'agentId', code: 'agent-disabled', message: `Agent ${agentId} is disabled.` }],
    });
  }
}

const holds = (authority: Authority, permission: string) => authority.isAdministrator || authority.permissions.has(permission);

/** Permissions the application already has may stay; only new grants must be held by the caller. */
function checkGrantable(requested: readonly Permission[], authority: Authority, already: readonly string[] = []): void {
  const problems: FieldProblem[] = requested
    .map((p, i) => ({ p, i }))
    .filter(({ p }) => !holds(authority, p) && !already.includes(p))
    .map(({ p, i }) => ({ path: `permissions[${i}]`, code: 'not-held', message: `You do not hold "${p}", so you cannot grant it.` }));
  if (problems.length > 0) throw new DomainError('FORBIDDEN', 'An application cannot be granted permissions its creator does not hold.', { errors: problems });
}

/**
 * An application moved to another agent, turned back on, or given a new secret acts with every permission it has
 * again, or for someone new: the caller must hold them all.
 */
function checkHoldsAll(app: ApplicationRecord, authority: Authority, path: string): void {
  const missing = app.permissions.filter((p) => !holds(authority, p));
  if (missing.length === 0) return;
  throw new DomainError('FORBIDDEN', `Application ${app.name} acts with ${missing.join(', ')}, which the caller does not hold.`, {
    errors: [{ path, code: 'not-held', message: `You do not hold ${missing.map((p) => `"${p}"`).join(', ')}, which the application has.` }],
    missing,
  });
}

export function createApplicationService(deps: { db: Transactor; clock: Clock; audit: AuditLog }): ApplicationService {
  const { db, clock, audit } = deps;
  /** Audits an application event inside the write, naming the application in subject and details. */
  const recordEvent = (stores: Stores, ctx: WriteContext, kind: string, app: ApplicationRecord, details: Record<string, unknown>) =>
    audit.recordIn(stores, {
      kind,
      outcome: 'success',
      actor: ctx.actor,
      request: ctx.request,
      subject: `${app.name} (${app.clientId})`,
      details: { applicationId: app.id, clientId: app.clientId, ...details },
    });

  // A write refused for want of authority is audited as a denial.
  const write = <T>(ctx: WriteContext, subject: string, run: (stores: Stores) => Promise<T>): Promise<T> => audit.denialsOf(ctx, subject, () => db.write(run));

  return {
    async list(query) {
      const afterId = query.cursor ? decodeCursor(query.cursor) : undefined;
      const rows = await db.read((stores) =>
        stores.applications.list({ limit: query.limit + 1, ...(afterId ? { afterId } : {}), ...(query.q ? { nameContains: query.q } : {}) }),
      );
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return { items: page.map(applicationView), nextCursor: rows.length > query.limit && last ? encodeCursor(last.id) : null };
    },

    async get(id) {
      return applicationView(await db.read((stores) => loadApplication(stores, id)));
    },

    async create(ctx, input) {
      const values = parseOrThrow(applicationCreateSchema, input, 'application');
      const clientSecret = mintCredential(credentialPrefixes.clientSecret);
      const record = await write(ctx, 'new application', async (stores) => {
        checkGrantable(values.permissions, ctx.authority);
        await checkAgent(stores, values.agentId);
        const now = clock.now();
        const created: ApplicationRecord = {
          id: newId(now),
          name: values.name,
          clientId: newClientId(),
          secretHash: hashCredential(clientSecret),
          agentId: values.agentId,
          permissions: sortedPermissions(values.permissions),
          enabled: values.enabled,
          createdAt: now,
          updatedAt: now,
          secretRotatedAt: now,
        };
        await stores.applications.insert(created);
        await recordEvent(stores, ctx, 'application.created', created, { agentId: created.agentId, permissions: created.permissions, enabled: created.enabled });
        return created;
      });
      return { application: applicationView(record), clientSecret };
    },

    async update(ctx, id, patch) {
      const values = parseOrThrow(applicationPatchSchema, patch, 'application update');
      const record = await write(ctx, `application ${id}`, async (stores) => {
        const current = await loadApplication(stores, id);
        if (values.permissions) checkGrantable(values.permissions, ctx.authority, current.permissions);
        const next: ApplicationRecord = {
          ...current,
          ...(values.name !== undefined ? { name: values.name } : {}),
          ...(values.agentId !== undefined ? { agentId: values.agentId } : {}),
          ...(values.permissions !== undefined ? { permissions: sortedPermissions(values.permissions) } : {}),
          ...(values.enabled !== undefined ? { enabled: values.enabled } : {}),
        };
        const changed = (['name', 'agentId', 'permissions'] as const).filter((key) => JSON.stringify(current[key]) !== JSON.stringify(next[key]));
        const toggled = current.enabled !== next.enabled;
        if (changed.length === 0 && !toggled) return current;
        if (changed.includes('agentId')) {
          await checkAgent(stores, next.agentId);
          checkHoldsAll(next, ctx.authority, 'agentId');
        }
        if (toggled && next.enabled) checkHoldsAll(next, ctx.authority, 'enabled');
        next.updatedAt = clock.now();
        await stores.applications.update(next);
        // Tokens act for the agent they were issued under: a disabled application or a new agent starts from fresh tokens.
        const revoke = (toggled && !next.enabled) || changed.includes('agentId');
        if (revoke) await stores.accessTokens.removeForApplication(id);
        if (changed.length > 0) {
          await recordEvent(stores, ctx, 'application.updated', next, {
            changed,
            before: Object.fromEntries(changed.map((key) => [key, current[key]])),
            after: Object.fromEntries(changed.map((key) => [key, next[key]])),
            tokensRevoked: revoke,
          });
        }
        if (toggled) {
          await recordEvent(stores, ctx, next.enabled ? 'application.enabled' : 'application.disabled', next, { tokensRevoked: !next.enabled });
        }
        return next;
      });
      return applicationView(record);
    },

    async remove(ctx, id) {
      await db.write(async (stores) => {
        const current = await loadApplication(stores, id);
        await stores.accessTokens.removeForApplication(id);
        await stores.applications.remove(id);
        await recordEvent(stores, ctx, 'application.deleted', current, { agentId: current.agentId, tokensRevoked: true });
      });
    },

    async rotateSecret(ctx, id) {
      const clientSecret = mintCredential(credentialPrefixes.clientSecret);
      const record = await write(ctx, `application ${id}`, async (stores) => {
        const current = await loadApplication(stores, id);
        checkHoldsAll(current, ctx.authority, '');
        const now = clock.now();
        const next: ApplicationRecord = { ...current, secretHash: hashCredential(clientSecret), secretRotatedAt: now, updatedAt: now };
        await stores.applications.update(next);
        await stores.accessTokens.removeForApplication(id);
        await recordEvent(stores, ctx, 'application.secret-rotated', next, { tokensRevoked: true });
        return next;
      });
      return { application: applicationView(record), clientSecret };
    },
  };
}
