import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, expect } from 'vitest';
import { syncPlanSchema } from '../../src/http/routes/instances-sync.js';
import { permissions } from '../../src/access/permissions.js';
import type { EngineName } from '../../src/store/dialects/dialect.js';
import type { InstanceKind } from '../../src/tracking/instance-identity.js';
import { createTestApp, type TestApp, type TestInstanceOptions } from './instance.js';

const PLAN_ROUTE = /^\/v1\/(instances\/[^/]+\/(push|pull)|changes\/import)(\?|$)/;

/** A parsed JSON answer; tests read into it freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on arbitrary response shapes
export type Answer = any;

/** A test instance served over real HTTP on a loopback port. */
export interface LiveInstance extends TestApp {
  name: string;
  url: string;
  /** Calls this instance's API as its administrator. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Answer }>;
}

export interface LiveInstanceOptions extends TestInstanceOptions {
  name: string;
  kind: InstanceKind;
  version?: string;
}

export async function startLiveInstance(engine: EngineName, options: LiveInstanceOptions): Promise<LiveInstance> {
  const instance = await createTestApp(engine, options);
  const url = await instance.app.listen({ port: 0, host: '127.0.0.1' });
  return {
    ...instance,
    name: options.name,
    url,
    async call(method, path, body, headers = {}) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { ...instance.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      const answer = text ? (JSON.parse(text) as unknown) : null;
      // Plans are written without the schema's walk: every plan a test gets must already be exactly in its shape.
      if ((response.status === 200 || response.status === 202) && method === 'POST' && PLAN_ROUTE.test(path)) expect(syncPlanSchema.parse(answer)).toEqual(answer);
      return { status: response.status, body: answer };
    },
  };
}

/** Creates an API application on `on` holding every permission of its administrator, for `from` to link with. */
export async function applicationFor(on: LiveInstance, label: string, granted: readonly string[] = permissions): Promise<{ clientId: string; clientSecret: string }> {
  const created = await on.services.applications.create(on.ctx, { name: `Sync from ${label}`, agentId: on.ctx.actor.id, permissions: granted });
  return { clientId: created.application.clientId, clientSecret: created.clientSecret };
}

/** Links `from` to `to` (an application on `to` with every permission); `source` makes `to` the source of `from`. */
export async function link(from: LiveInstance, to: LiveInstance, options: { source?: boolean; granted?: readonly string[] } = {}): Promise<void> {
  const credentials = await applicationFor(to, from.name, options.granted);
  const answer = await from.call('POST', '/v1/instances', { name: to.name, url: to.url, ...credentials, ...(options.source ? { source: true } : {}) });
  if (answer.status !== 201) throw new Error(`link ${from.name} → ${to.name}: ${answer.status} ${JSON.stringify(answer.body)}`);
}

/** A further instance on `source`'s engine that takes `source` as its source, linked both ways. */
export async function startDownstreamOf(source: LiveInstance, options: LiveInstanceOptions): Promise<LiveInstance> {
  const instance = await startLiveInstance(source.database.engine, options);
  await link(source, instance);
  await link(instance, source, { source: true });
  return instance;
}

/** Development and staging sharing a secret key, development linked to staging; with `source`, staging takes development as its source. */
export async function startPair(engine: EngineName, options: { source?: boolean } = {}): Promise<{ dev: LiveInstance; staging: LiveInstance }> {
  const secretKey = randomBytes(32);
  const [dev, staging] = await Promise.all([
    startLiveInstance(engine, { name: 'dev', kind: 'development', secretKey }),
    startLiveInstance(engine, { name: 'staging', kind: 'staging', secretKey }),
  ]);
  await link(dev, staging);
  if (options.source) await link(staging, dev, { source: true });
  return { dev, staging };
}

export interface Pipeline {
  dev: LiveInstance;
  staging: LiveInstance;
  production: LiveInstance;
  all: LiveInstance[];
  /** The secret key the three share, for further instances that must read their secrets. */
  secretKey: Buffer;
  close(): Promise<void>;
}

/** dev → staging → production, sharing one secret key; each links its neighbours, and production is linked from both. */
export async function startPipeline(engine: EngineName, options: { versions?: Partial<Record<'dev' | 'staging' | 'production', string>> } = {}): Promise<Pipeline> {
  const secretKey = randomBytes(32);
  const start = (name: 'dev' | 'staging' | 'production', kind: InstanceKind) =>
    startLiveInstance(engine, { name, kind, secretKey, ...(options.versions?.[name] ? { version: options.versions[name] } : {}) });
  const [dev, staging, production] = await Promise.all([start('dev', 'development'), start('staging', 'staging'), start('production', 'production')]);
  await link(dev, staging);
  await link(staging, dev, { source: true });
  await link(staging, production);
  await link(production, staging, { source: true });
  await link(dev, production);
  const all = [dev, staging, production];
  return {
    dev,
    staging,
    production,
    all,
    secretKey,
    async close() {
      await Promise.all(all.map((i) => i.close()));
    },
  };
}

/** A new pipeline for each test of the calling `describe`: the object returned is refilled before every test. */
export function pipelineForEachTest(engine: EngineName): Pipeline {
  const current = {} as Pipeline;
  beforeEach(async () => {
    Object.assign(current, await startPipeline(engine));
  });
  afterEach(async () => current.close?.());
  return current;
}

/** Calls `instance` and fails unless it answers 2xx; returns the body. */
export async function ok(instance: LiveInstance, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer> {
  const answer = await instance.call(method, path, body, headers);
  if (answer.status < 200 || answer.status > 299) throw new Error(`${instance.name} ${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** Creates a config entity over HTTP; returns its id and the change recorded. */
export async function create(instance: LiveInstance, type: string, body: Record<string, unknown>, headers?: Record<string, string>): Promise<{ id: string; changeId: string }> {
  const answer = await ok(instance, 'POST', `/v1/config/${type}`, body, headers);
  return { id: answer.entity.id, changeId: answer.changeId };
}

/** Replaces a config entity over HTTP; returns the change recorded. */
export async function replace(instance: LiveInstance, type: string, id: string, body: Record<string, unknown>, headers?: Record<string, string>): Promise<string> {
  return (await ok(instance, 'PUT', `/v1/config/${type}/${id}`, body, headers)).changeId;
}

/** The whole change list of `instance`, oldest first. */
export async function changeLog(instance: LiveInstance): Promise<Answer[]> {
  const items: Answer[] = [];
  for (let cursor: string | null = null; ; ) {
    const page: Answer = await ok(instance, 'GET', `/v1/changes?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.nextCursor;
    if (!cursor) return items.reverse();
  }
}

/** What a refused operation must leave untouched: the change log and the tracked entities of the given types. */
export async function trackedState(instance: LiveInstance, types: readonly string[] = ['teams', 'departments']): Promise<{ log: string[]; entities: Record<string, Answer[]> }> {
  const entities: Record<string, Answer[]> = {};
  for (const type of types) entities[type] = (await ok(instance, 'GET', `/v1/config/${type}?limit=200`)).items;
  return { log: (await changeLog(instance)).map((c: Answer) => c.id), entities };
}

/** Resolves once the system clock has passed `ms`, so that later changes are made strictly after it. */
export async function clockPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setTimeout(resolve, 2));
}

/** Restores `instance` from production as a person would: plans it, then confirms exactly that plan by its fingerprint. */
export async function restoreFromProduction(instance: LiveInstance, scope: 'instance' | 'pipeline'): Promise<{ plan: Answer; restored: Answer }> {
  const plan = await ok(instance, 'POST', '/v1/instances/production/restore?dryRun=true', { scope });
  const restored = await ok(instance, 'POST', '/v1/instances/production/restore', { scope, confirm: true, fingerprint: plan.fingerprint });
  return { plan, restored };
}
