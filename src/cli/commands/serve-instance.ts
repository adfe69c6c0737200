import { parseArgs } from 'node:util';
import { DEFAULT_RATE_LIMIT } from '../../http/rate-limit.js';
import { startInstance } from '../../main.js';
import { instanceKinds, type InstanceKind } from '../../tracking/instance-identity.js';
import { stopOnSignals } from '../server-process.js';
import { UsageError } from '../usage-error.js';

export const serveUsage = `shiplog serve --name NAME --kind KIND [--port 4100] [--host 127.0.0.1] [--database ./data/NAME.sqlite | postgres://…] [--key-file FILE] [--rate-limit N] [--quiet]

  Serves one Shiplog instance. KIND is one of: ${instanceKinds.join(', ')}.
  Environment: SHIPLOG_SECRET_KEY (32-byte key(s), base64 or hex, comma-separated, first one active),
               SHIPLOG_ADMIN_TOKEN and SHIPLOG_ADMIN_PASSWORD (the bootstrap administrator's API token and
               console password at first start), SHIPLOG_RATE_LIMIT (as --rate-limit: requests a minute
               per agent, application or unauthenticated address, in this process; 0 for none; default ${DEFAULT_RATE_LIMIT}).`;

export async function serveInstance(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      kind: { type: 'string', default: 'development' },
      port: { type: 'string', default: '4100' },
      host: { type: 'string', default: '127.0.0.1' },
      database: { type: 'string' },
      'key-file': { type: 'string' },
      'rate-limit': { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const name = values.name;
  if (!name || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new UsageError('--name is required: lowercase letters, digits and dashes');
  const kind = values.kind as InstanceKind;
  if (!instanceKinds.includes(kind)) throw new UsageError(`--kind must be one of ${instanceKinds.join(', ')}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be a port number');
  const rateLimit = Number(values['rate-limit'] ?? process.env.SHIPLOG_RATE_LIMIT ?? DEFAULT_RATE_LIMIT);
  if (!Number.isSafeInteger(rateLimit) || rateLimit < 0) throw new UsageError('--rate-limit (or SHIPLOG_RATE_LIMIT) must be a whole number of requests a minute, 0 for none');

  const running = await startInstance({
    name,
    kind,
    port,
    host: values.host,
    database: values.database ?? `./data/${name}.sqlite`,
    ...(values['key-file'] ? { keyFile: values['key-file'] } : {}),
    rateLimit,
    ...(process.env.SHIPLOG_SECRET_KEY ? { secretKey: process.env.SHIPLOG_SECRET_KEY } : {}),
    ...(process.env.SHIPLOG_ADMIN_TOKEN ? { adminToken: process.env.SHIPLOG_ADMIN_TOKEN } : {}),
    ...(process.env.SHIPLOG_ADMIN_PASSWORD ? { adminPassword: process.env.SHIPLOG_ADMIN_PASSWORD } : {}),
    logger: values.quiet ? false : { level: 'info' },
  });

  const lines = [`Shiplog ${running.services.instance.name} (${kind}) is serving ${running.url}`, `  API document: ${running.url}/openapi.json`];
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

  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  stopOnSignals(stop);
}
