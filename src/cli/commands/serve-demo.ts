import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { loggerOptions } from '../../http/logging.js';
import { ADMINISTRATOR_ROLE_ID } from '../../access/administrator-role.js';
import type { Permission } from '../../access/permissions.js';
import type { RunningInstance } from '../../main.js';
import { administratorAuthority, type WriteContext } from '../../shared/actor.js';
import type { InstanceKind } from '../../tracking/instance-identity.js';
import { serving, stopOnSignals } from '../server-process.js';
import { UsageError } from '../usage-error.js';

export function demoCommand(): Command {
  return new Command('demo')
    .summary('serve a demo pipeline dev → staging → production (what npm start runs)')
    .description(
      "Serves a demo pipeline dev (development) → staging → production in one process, on ports BASE, BASE+1 and BASE+2, sharing one secret key (DIR/pipeline.key unless SHIPLOG_SECRET_KEY is set). At first start it links them (staging's source is dev, production's source is staging; dev also links production), adds a starter configuration on dev, pushes it along, and leaves one more change on dev unpushed. Later starts reuse everything. TEMPLATE names each database with {name} for the instance name (default DIR/{name}.sqlite; a postgres://… URL works too).",
    )
    .usage('[--dir ./data] [--base-port 4100] [--host 127.0.0.1] [--database TEMPLATE] [--verbose]')
    .option('--dir <DIR>', 'where the databases and the key file live', './data')
    .option('--base-port <BASE>', 'the port of dev; staging and production take the next two', '4100')
    .option('--host <HOST>', 'the address to listen on', '127.0.0.1')
    .option('--database <TEMPLATE>', 'each database, {name} standing for the instance name')
    .option('--verbose', 'log requests')
    .action(serving(serveDemo));
}

interface DemoValues {
  dir: string;
  basePort: string;
  host: string;
  database?: string;
  verbose?: boolean;
}

type StageName = 'dev' | 'staging' | 'production';

const stages: { name: StageName; kind: InstanceKind }[] = [
  { name: 'dev', kind: 'development' },
  { name: 'staging', kind: 'staging' },
  { name: 'production', kind: 'production' },
];

/** Who links whom: `source` makes `to` the source of `from`. Downstream stages link their source after it links them. */
const links: { from: StageName; to: StageName; source: boolean }[] = [
  { from: 'dev', to: 'staging', source: false },
  { from: 'staging', to: 'dev', source: true },
  { from: 'staging', to: 'production', source: false },
  { from: 'production', to: 'staging', source: true },
  { from: 'dev', to: 'production', source: false },
];

/** What a peer's application may do: read the peer's state and send changes to it. */
const syncPermissions: Permission[] = ['config:read', 'config:push'];

interface Stage {
  name: StageName;
  kind: InstanceKind;
  database: string;
  running: RunningInstance;
  ctx: WriteContext;
}

/** The shared key file; a dev database made by `shiplog serve` keeps the key its secrets are sealed with. */
function pipelineKeyFile(dir: string): string {
  const file = join(dir, 'pipeline.key');
  const devKey = join(dir, 'dev.sqlite.key');
  if (!existsSync(file) && existsSync(devKey)) copyFileSync(devKey, file);
  return file;
}

async function administratorContext(running: RunningInstance, changeSet: string | null): Promise<WriteContext> {
  const agent = running.bootstrap?.agent;
  // The demo acts as the instance's administrator, from the machine that holds its database.
  if (agent) return { actor: { kind: 'agent', id: agent.id, name: agent.name }, request: null, changeSet, authority: administratorAuthority };
  const role = await running.services.config.get('roles', ADMINISTRATOR_ROLE_ID);
  const id = (role.body.agentIds as string[] | undefined)?.[0];
  if (!id) throw new Error(`${running.services.instance.name} has no administrator`);
  return { actor: { kind: 'agent', id, name: 'Administrator' }, request: null, changeSet, authority: administratorAuthority };
}

/** Creates the missing links (and corrects a peer's URL when the ports moved); true when any link was created. */
async function ensureLinks(byName: Record<StageName, Stage>): Promise<boolean> {
  let created = false;
  for (const link of links) {
    const from = byName[link.from];
    const to = byName[link.to];
    const existing = (await from.running.services.sync.list()).find((p) => p.name === link.to);
    if (existing) {
      if (existing.url !== to.running.url) await from.running.services.sync.update(from.ctx, link.to, { url: to.running.url });
      continue;
    }
    const application = await to.running.services.applications.create(
      to.ctx,
      { name: `Sync from ${link.from}`, agentId: to.ctx.actor.id, permissions: syncPermissions },
    );
    await from.running.services.sync.link(from.ctx, {
      name: link.to,
      url: to.running.url,
      clientId: application.application.clientId,
      clientSecret: application.clientSecret,
      ...(link.source ? { source: true } : {}),
    });
    created = true;
  }
  return created;
}

/** A small service-desk configuration: teams, statuses, a workflow, a ticket type and a ticket rule. */
async function addStarterConfiguration(dev: Stage): Promise<void> {
  const config = dev.running.services.config;
  const ctx = { ...dev.ctx, changeSet: 'starter' };
  const create = async (type: string, body: Record<string, unknown>): Promise<string> => (await config.create(ctx, type, body)).entity!.id;
  const serviceDesk = await create('teams', { name: 'Service Desk', description: 'First line: every new ticket lands here.' });
  const network = await create('teams', { name: 'Network', description: 'Connectivity, VPN and firewalls.' });
  await create('teams', { name: 'Applications', description: 'Business applications.' });
  const open = await create('statuses', { name: 'New', kind: 'ticket', colour: '#2f80ed', isDefault: true, sequence: 1 });
  const working = await create('statuses', { name: 'In progress', kind: 'ticket', colour: '#f2994a', sequence: 2 });
  const resolved = await create('statuses', { name: 'Resolved', kind: 'ticket', colour: '#27ae60', isClosed: true, sequence: 3 });
  const workflow = await create('workflows', {
    name: 'Incident',
    startStepId: 'new',
    steps: [
      { id: 'new', name: 'New', statusId: open, actions: [{ id: 'start', name: 'Start work', nextStepId: 'working', setStatusId: working }] },
      { id: 'working', name: 'In progress', statusId: working, actions: [{ id: 'resolve', name: 'Resolve', nextStepId: 'resolved', setStatusId: resolved }] },
      { id: 'resolved', name: 'Resolved', statusId: resolved, actions: [] },
    ],
  });
  const incident = await create('ticket-types', { name: 'Incident', description: 'Something is broken.', defaultTeamId: serviceDesk, defaultStatusId: open, workflowId: workflow });
  await create('ticket-rules', {
    name: 'VPN incidents go to Network',
    criteria: [
      { field: 'ticket-type', operator: 'is', ticketTypeIds: [incident] },
      { field: 'summary', operator: 'contains', value: 'VPN' },
    ],
    outcomes: [{ field: 'team', teamId: network }],
  });
}

/** First start: link the stages, add the starter configuration, push it along, and leave one change on dev. */
async function setUp(byName: Record<StageName, Stage>): Promise<void> {
  if (!(await ensureLinks(byName))) return;
  const { dev, staging } = byName;
  if ((await dev.running.services.changeLog.list({ limit: 1 })).items.length === 0) await addStarterConfiguration(dev);
  await dev.running.services.sync.push(dev.ctx, 'staging', {});
  await staging.running.services.sync.push(staging.ctx, 'production', {});
  await dev.running.services.config.create({ ...dev.ctx, changeSet: 'next' }, 'teams', { name: 'Problem Management', description: 'Root causes of recurring incidents.' });
}

async function pipelineStatus(byName: Record<StageName, Stage>): Promise<string[]> {
  const lines: string[] = [];
  for (const [stage, source] of [
    ['staging', 'dev'],
    ['production', 'staging'],
  ] as const) {
    const status = await byName[stage].running.services.sync.status(source, { list: false });
    if (status.inSync) lines.push(`  ${stage} is in sync with ${source}.`);
    else lines.push(`  ${stage} is not in sync with ${source}: ${status.reasons.join(' ')}`);
  }
  return lines;
}

function banner(byName: Record<StageName, Stage>, dir: string, status: string[]): string {
  const lines = [`Shiplog demo pipeline: dev → staging → production (data in ${dir})`, '', 'Open the console (each instance serves its own):'];
  const width = Math.max(...stages.map(({ name, kind }) => `${name} (${kind})`.length));
  for (const { name, kind } of stages) lines.push(`  ${`${name} (${kind})`.padEnd(width)}  ${byName[name].running.url}/`);
  lines.push('');
  const first = stages.some((s) => byName[s.name].running.bootstrap);
  for (const { name, kind } of stages) {
    const { running, database } = byName[name];
    lines.push(`${name} (${kind}) is serving ${running.url}`);
    const boot = running.bootstrap;
    if (boot) {
      lines.push(`  Administrator: ${boot.agent.email}`);
      lines.push(boot.password ? `  Console password (shown once): ${boot.password}` : '  Console password: the one given in SHIPLOG_ADMIN_PASSWORD');
      lines.push(
        process.env.SHIPLOG_ADMIN_TOKEN ? '  Administrator API token: the one given in SHIPLOG_ADMIN_TOKEN' : `  Administrator API token (shown once, keep it safe): ${boot.token}`,
      );
    } else {
      lines.push(`  Administrator: credentials were shown at first start. New token: npx shiplog admin-token --database ${database}`);
    }
  }
  lines.push('', 'Pipeline status:', ...status, '');
  const dev = byName.dev.running.url;
  lines.push(first ? 'Try (with dev\'s token):' : 'Try (with dev\'s token from the first start):');
  lines.push(`  export SHIPLOG_URL=${dev} SHIPLOG_TOKEN=<dev token>`);
  lines.push('  npx shiplog instances               # behind/ahead of each linked instance');
  lines.push('  npx shiplog push staging --dry-run  # the plan for the change dev holds');
  lines.push('  npx shiplog push staging');
  return `${lines.join('\n')}\n`;
}

async function serveDemo(values: DemoValues): Promise<void> {
  const basePort = Number(values.basePort);
  if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65533) throw new UsageError('--base-port must be a port number (1–65533)');
  const template = values.database ?? join(values.dir, '{name}.sqlite');
  if (!template.includes('{name}')) throw new UsageError('--database must contain {name}, e.g. ./data/{name}.sqlite');
  mkdirSync(values.dir, { recursive: true });
  const keyFile = pipelineKeyFile(values.dir);
  // Loaded here: the client commands start without the server's modules.
  const { startInstance } = await import('../../main.js');

  const started: Stage[] = [];
  const closeAll = () => Promise.all(started.map((s) => s.running.close()));
  try {
    // One after another: the first start makes the shared key file.
    for (const [offset, { name, kind }] of stages.entries()) {
      const database = template.replaceAll('{name}', name);
      const running = await startInstance({
        name,
        kind,
        database,
        port: basePort + offset,
        host: values.host,
        // Each instance's own address, for single sign-on's redirect URI.
        publicUrl: `http://${browserHost(values.host)}:${basePort + offset}`,
        keyFile,
        ...(process.env.SHIPLOG_SECRET_KEY ? { secretKey: process.env.SHIPLOG_SECRET_KEY } : {}),
        ...(process.env.SHIPLOG_ADMIN_TOKEN ? { adminToken: process.env.SHIPLOG_ADMIN_TOKEN } : {}),
        ...(process.env.SHIPLOG_ADMIN_PASSWORD ? { adminPassword: process.env.SHIPLOG_ADMIN_PASSWORD } : {}),
        logger: loggerOptions(values.verbose ? 'info' : 'warn'),
      });
      started.push({ name, kind, database, running, ctx: await administratorContext(running, null) });
    }
    const byName = Object.fromEntries(started.map((s) => [s.name, s])) as Record<StageName, Stage>;
    await setUp(byName);
    process.stdout.write(banner(byName, values.dir, await pipelineStatus(byName)));
  } catch (error) {
    await closeAll();
    throw error;
  }

  const stop = async () => {
    await closeAll();
    process.exit(0);
  };
  stopOnSignals(stop);
}

/** The host a browser on this machine reaches a listening address by. */
function browserHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
