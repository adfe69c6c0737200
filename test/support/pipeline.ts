import { randomBytes } from 'node:crypto';
import { permissions } from '../../src/access/permissions.js';
import type { EngineName } from '../../src/store/dialects/dialect.js';
import type { InstanceKind } from '../../src/tracking/instance-identity.js';
import { createTestApp, type TestApp, type TestInstanceOptions } from './instance.js';

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
      return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
    },
  };
}

/** Creates an API application on `on` holding every permission of its administrator, for `from` to link with. */
export async function applicationFor(on: LiveInstance, label: string, granted: readonly string[] = permissions): Promise<{ clientId: string; clientSecret: string }> {
  const created = await on.services.applications.create(
    on.ctx,
    { name: `Sync from ${label}`, agentId: on.ctx.actor.id, permissions: granted },
    { permissions: new Set(permissions) },
  );
  return { clientId: created.application.clientId, clientSecret: created.clientSecret };
}

/** Links `from` to `to` (an application on `to` with every permission); `source` makes `to` the source of `from`. */
export async function link(from: LiveInstance, to: LiveInstance, options: { source?: boolean; granted?: readonly string[] } = {}): Promise<void> {
  const credentials = await applicationFor(to, from.name, options.granted);
  const answer = await from.call('POST', '/v1/instances', { name: to.name, url: to.url, ...credentials, ...(options.source ? { source: true } : {}) });
  if (answer.status !== 201) throw new Error(`link ${from.name} → ${to.name}: ${answer.status} ${JSON.stringify(answer.body)}`);
}

export interface Pipeline {
  dev: LiveInstance;
  staging: LiveInstance;
  production: LiveInstance;
  all: LiveInstance[];
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
    async close() {
      await Promise.all(all.map((i) => i.close()));
    },
  };
}
