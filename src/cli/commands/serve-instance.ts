import { Command } from 'commander';
import { dirname, join } from 'node:path';
import { DEFAULT_RATE_LIMIT } from '../../http/rate-limit.js';
import { parseDuration } from '../../ops/duration.js';
import { loggerOptions, logLevels, type LogLevel } from '../../http/logging.js';
import { parsePublicUrl } from '../../shared/public-url.js';
import { instanceKinds, type InstanceKind } from '../../tracking/instance-identity.js';
import { serving, stopOnSignals } from '../server-process.js';
import { UsageError } from '../usage-error.js';

/** The options of `shiplog serve` as commander gives them (camel-cased): a new option is declared in serveCommand and read here. */
interface ServeValues {
  name?: string;
  kind: string;
  port: string;
  host: string;
  database?: string;
  keyFile?: string;
  publicUrl?: string;
  rateLimit?: string;
  quiet?: boolean;
  backupEvery?: string;
  backupKeep: string;
  backupDir?: string;
  logLevel?: string;
  metricsPort?: string;
  metricsHost?: string;
  stopTimeout?: string;
}

const DEFAULT_STOP_TIMEOUT_SECONDS = 30;
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function serveCommand(): Command {
  return new Command('serve')
    .summary('serve one instance')
    .description(
      `Serves one Shiplog instance. KIND is one of: ${instanceKinds.join(', ')}. Environment: SHIPLOG_SECRET_KEY (32-byte key(s), base64 or hex, comma-separated, first one active), SHIPLOG_ADMIN_TOKEN and SHIPLOG_ADMIN_PASSWORD (the bootstrap administrator's API token and console password at first start), SHIPLOG_PUBLIC_URL (instead of --public-url), SHIPLOG_RATE_LIMIT (instead of --rate-limit), SHIPLOG_LOG_LEVEL, SHIPLOG_METRICS_PORT, SHIPLOG_METRICS_HOST, SHIPLOG_STOP_TIMEOUT (instead of the options of those names), SHIPLOG_METRICS_TOKEN (the bearer token a scrape of /metrics must send; required when metrics listen beyond loopback). See docs/operations.md.`,
    )
    .usage('--name NAME --kind KIND [options]')
    .option('--name <NAME>', "the instance's name: lowercase letters, digits and dashes")
    .option('--kind <KIND>', "the instance's kind", 'development')
    .option('--port <PORT>', 'the port to listen on', '4100')
    .option('--host <HOST>', 'the address to listen on', '127.0.0.1')
    .option('--database <DATABASE>', 'a SQLite file or a postgres:// URL (default: ./data/NAME.sqlite)')
    .option('--key-file <FILE>', 'the file of the secret key, made at first start (default: DATABASE.key, or ./data/NAME.key with PostgreSQL)')
    .option('--public-url <URL>', 'the address people and identity providers reach the instance at (https://desk.example.com, a path allowed); single sign-on needs it for its redirect URI, and without it cannot start')
    .option('--rate-limit <N>', `requests a minute per agent, application or unauthenticated address, in this process; 0 for none (default ${DEFAULT_RATE_LIMIT})`)
    .option('--quiet', 'log nothing (as --log-level silent)')
    .option('--backup-every <DURATION>', 'SQLite: back the database up this often (30m, 6h, 1d), verified as shiplog backup does')
    .option('--backup-keep <N>', 'with --backup-every: how many backups to keep, the newest', '7')
    .option('--backup-dir <DIR>', "with --backup-every: where backups go (default: the database's directory/backups)")
    .option('--log-level <LEVEL>', `JSON log lines from this level up: ${logLevels.join(', ')} (default info)`)
    .option('--metrics-port <PORT>', 'serve Prometheus metrics at http://METRICS_HOST:PORT/metrics (default: no metrics)')
    .option('--metrics-host <HOST>', 'the address the metrics listen on (default 127.0.0.1; beyond loopback SHIPLOG_METRICS_TOKEN is required)')
    .option('--stop-timeout <SECONDS>', `on SIGTERM or SIGINT, how long to let requests in flight and deliveries under way finish (default ${DEFAULT_STOP_TIMEOUT_SECONDS})`)
    .action(serving(serveInstance));
}

async function serveInstance(values: ServeValues): Promise<void> {
  const name = values.name;
  if (!name || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new UsageError('--name is required: lowercase letters, digits and dashes');
  const kind = values.kind as InstanceKind;
  if (!instanceKinds.includes(kind)) throw new UsageError(`--kind must be one of ${instanceKinds.join(', ')}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be a port number');
  const publicUrl = values.publicUrl ?? process.env.SHIPLOG_PUBLIC_URL;
  if (publicUrl !== undefined) {
    try {
      parsePublicUrl(publicUrl);
    } catch (error) {
      throw new UsageError(`${values.publicUrl === undefined ? 'SHIPLOG_PUBLIC_URL' : '--public-url'}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const rateLimit = Number(values.rateLimit ?? process.env.SHIPLOG_RATE_LIMIT ?? DEFAULT_RATE_LIMIT);
  if (!Number.isSafeInteger(rateLimit) || rateLimit < 0) throw new UsageError('--rate-limit (or SHIPLOG_RATE_LIMIT) must be a whole number of requests a minute, 0 for none');

  const database = values.database ?? `./data/${name}.sqlite`;
  const backupEvery = values.backupEvery === undefined ? undefined : parseDuration(values.backupEvery);
  if (backupEvery === null) throw new UsageError('--backup-every must be a duration: a whole number and s, m, h or d (30m, 6h, 1d)');
  const backupKeep = Number(values.backupKeep);
  if (!Number.isSafeInteger(backupKeep) || backupKeep < 1) throw new UsageError('--backup-keep must be a whole number, 1 or more');
  if (backupEvery !== undefined && /^postgres(ql)?:\/\//.test(database)) throw new UsageError('--backup-every backs up a SQLite database; with PostgreSQL, run shiplog backup from a timer (docs/operations.md)');
  const logLevel = (values.quiet ? 'silent' : (values.logLevel ?? process.env.SHIPLOG_LOG_LEVEL ?? 'info')) as LogLevel;
  if (!logLevels.includes(logLevel)) throw new UsageError(`--log-level (or SHIPLOG_LOG_LEVEL) must be one of ${logLevels.join(', ')}`);
  const stopTimeout = Number(values.stopTimeout ?? process.env.SHIPLOG_STOP_TIMEOUT ?? DEFAULT_STOP_TIMEOUT_SECONDS);
  if (!Number.isFinite(stopTimeout) || stopTimeout < 0) throw new UsageError('--stop-timeout (or SHIPLOG_STOP_TIMEOUT) must be a number of seconds');
  const metricsPortText = values.metricsPort ?? process.env.SHIPLOG_METRICS_PORT;
  let metrics: { host: string; port: number; token?: string } | undefined;
  if (metricsPortText !== undefined) {
    const metricsPort = Number(metricsPortText);
    if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535) throw new UsageError('--metrics-port (or SHIPLOG_METRICS_PORT) must be a port number');
    const metricsHost = values.metricsHost ?? process.env.SHIPLOG_METRICS_HOST ?? '127.0.0.1';
    const token = process.env.SHIPLOG_METRICS_TOKEN;
    if (token !== undefined && token.length < 24) throw new UsageError('SHIPLOG_METRICS_TOKEN must be at least 24 characters');
    if (token === undefined && !LOOPBACK.test(metricsHost)) throw new UsageError(`metrics on ${metricsHost} would be open to the network: set SHIPLOG_METRICS_TOKEN, or keep --metrics-host on loopback`);
    metrics = { host: metricsHost, port: metricsPort, ...(token !== undefined ? { token } : {}) };
  }

  // Loaded here: the client commands start without the server's modules.
  const { startInstance, loadSecretKeys } = await import('../../main.js');
  const running = await startInstance({
    name,
    kind,
    port,
    host: values.host,
    database,
    ...(values.keyFile ? { keyFile: values.keyFile } : {}),
    ...(publicUrl !== undefined ? { publicUrl } : {}),
    rateLimit,
    ...(process.env.SHIPLOG_SECRET_KEY ? { secretKey: process.env.SHIPLOG_SECRET_KEY } : {}),
    ...(process.env.SHIPLOG_ADMIN_TOKEN ? { adminToken: process.env.SHIPLOG_ADMIN_TOKEN } : {}),
    ...(process.env.SHIPLOG_ADMIN_PASSWORD ? { adminPassword: process.env.SHIPLOG_ADMIN_PASSWORD } : {}),
    logger: loggerOptions(logLevel),
    ...(metrics ? { metrics } : {}),
    stopTimeoutMs: stopTimeout * 1000,
  });

  const { startBackupSchedule } = await import('../../ops/backup-schedule.js');
  const backups =
    backupEvery === undefined
      ? undefined
      : startBackupSchedule({
          database,
          name,
          dir: values.backupDir ?? join(dirname(database.replace(/^sqlite:/, '')), 'backups'),
          everyMs: backupEvery,
          keep: backupKeep,
          keys: loadSecretKeys({ name, kind, database, port, host: values.host, ...(values.keyFile ? { keyFile: values.keyFile } : {}), ...(process.env.SHIPLOG_SECRET_KEY ? { secretKey: process.env.SHIPLOG_SECRET_KEY } : {}) }),
          log: running.log,
        });

  const stop = async () => {
    await backups?.stop();
    const clean = await running.close();
    process.exit(clean ? 0 : 1);
  };
  // Before the banner: whoever reads it may stop the instance at once.
  stopOnSignals(stop);

  const lines = [`Shiplog ${running.services.instance.name} (${kind}) is serving ${running.url}`, `  API document: ${running.url}/openapi.json`];
  if (running.metricsUrl) lines.push(`  Metrics: ${running.metricsUrl}`);
  if (running.bootstrap) {
    lines.push(`  Administrator: ${running.bootstrap.agent.email}`);
    lines.push(
      running.bootstrap.password
        ? `  Console password (shown once): ${running.bootstrap.password}`
        : '  Console password: the one given in SHIPLOG_ADMIN_PASSWORD',
    );
    lines.push(
      running.bootstrap.token && !process.env.SHIPLOG_ADMIN_TOKEN
        ? `  Administrator API token (shown once, keep it safe): ${running.bootstrap.token}`
        : '  Administrator API token: the one given in SHIPLOG_ADMIN_TOKEN',
    );
    lines.push(`  Try: curl -H "Authorization: Bearer <token>" ${running.url}/v1/instance`);
  } else {
    lines.push('  Administrator: created at first start; its API token was printed then.');
    lines.push(`  Lost it? Run: shiplog admin-token --database ${values.database ?? `./data/${name}.sqlite`}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);

}
