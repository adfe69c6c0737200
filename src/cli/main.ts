import { UsageError } from './usage-error.js';

type Command = (argv: string[]) => Promise<number | void>;

// Loaded on demand: the client commands start without the server's modules.
const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve-instance.js')).serveInstance,
  demo: async () => (await import('./commands/serve-demo.js')).serveDemo,
  'admin-token': async () => (await import('./commands/issue-admin-token.js')).issueAdminToken,
  status: async () => (await import('./commands/show-status.js')).showStatus,
  push: async () => {
    const { syncChanges } = await import('./commands/sync-changes.js');
    return (argv) => syncChanges('push', argv);
  },
  pull: async () => {
    const { syncChanges } = await import('./commands/sync-changes.js');
    return (argv) => syncChanges('pull', argv);
  },
  export: async () => (await import('./commands/export-changes.js')).exportChanges,
  import: async () => (await import('./commands/import-changes.js')).importChanges,
  restore: async () => (await import('./commands/restore-instance.js')).restoreInstance,
};

const records = () => import('./commands/manage-records.js');

/** Commands that serve instances: they run with the server's Node options (`server-process.ts`). */
const SERVING = new Set(['serve', 'demo']);

async function usage(): Promise<string> {
  const [serve, demo, adminToken, status, sync, exporting, importing, restore, manage] = await Promise.all([
    import('./commands/serve-instance.js'),
    import('./commands/serve-demo.js'),
    import('./commands/issue-admin-token.js'),
    import('./commands/show-status.js'),
    import('./commands/sync-changes.js'),
    import('./commands/export-changes.js'),
    import('./commands/import-changes.js'),
    import('./commands/restore-instance.js'),
    records(),
  ]);
  const width = Math.max(...manage.recordCommands.map((c) => c.name.length), 12);
  return `Usage: shiplog <command> [options]

Commands:
  serve        serve one instance
  demo         serve a demo pipeline dev → staging → production (what npm start runs)
  admin-token  issue a new API token for the administrator
  status       how this instance stands with one linked instance
  push, pull   move changes along the pipeline (plans with --dry-run)
  export       write selected changes to a JSON document
  import       apply an export document
  restore      replace this instance's configuration with production's
${manage.recordCommands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}\n  ${''.padEnd(width)}   ${c.verbs.map((v) => v.name).join(' | ')}`).join('\n')}
  help         this help; \`shiplog help COMMAND\` shows a command's verbs and options

Commands that talk to a running instance take --url and --token (or SHIPLOG_URL and
SHIPLOG_TOKEN). Exit codes: 0 done, 1 error, 2 refused (nothing was written).

${[
  serve.serveUsage,
  demo.demoUsage,
  adminToken.adminTokenUsage,
  status.statusUsage,
  sync.pushUsage,
  sync.pullUsage,
  exporting.exportUsage,
  importing.importUsage,
  restore.restoreUsage,
].join('\n\n')}
`;
}

async function main(argv: string[]): Promise<number | void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const { recordCommands, recordUsage } = await records();
    const about = recordCommands.find((c) => c.name === rest[0]);
    process.stdout.write(about ? `${recordUsage(about)}\n` : await usage());
    return;
  }
  const load = Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (load && SERVING.has(command)) {
    const { relaunchAsServer, runsAsServer } = await import('./server-process.js');
    if (!runsAsServer()) return relaunchAsServer(argv);
  }
  if (load) return (await load())(rest);
  const { recordCommands, runRecordCommand } = await records();
  const record = recordCommands.find((c) => c.name === command);
  if (!record) throw new UsageError(`unknown command "${command}"`);
  return runRecordCommand(record, rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code) process.exitCode = code;
  },
  async (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`shiplog: ${message}\n`);
    if (error instanceof UsageError) process.stderr.write(`\n${error.usage ? `${error.usage}\n` : await usage()}`);
    else if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write(`\n${await usage()}`);
    process.exit(1);
  },
);
