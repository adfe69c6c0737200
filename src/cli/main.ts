import { UsageError } from './usage-error.js';

type Command = (argv: string[]) => Promise<number | void>;

// Loaded on demand: a command loads only the modules it uses.
const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve-instance.js')).serveInstance,
  demo: async () => (await import('./commands/serve-demo.js')).serveDemo,
  'admin-token': async () => (await import('./commands/issue-admin-token.js')).issueAdminToken,
};

async function usage(): Promise<string> {
  const [serve, demo, adminToken] = await Promise.all([
    import('./commands/serve-instance.js'),
    import('./commands/serve-demo.js'),
    import('./commands/issue-admin-token.js'),
  ]);
  return `Usage: shiplog <command> [options]

Commands:
  serve        serve one instance
  demo         serve a demo pipeline dev → staging → production (what npm start runs)
  admin-token  issue a new API token for the administrator
  help         show this help

${[
  serve.serveUsage,
  demo.demoUsage,
  adminToken.adminTokenUsage,
].join('\n\n')}
`;
}

async function main(argv: string[]): Promise<number | void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(await usage());
    return;
  }
  const load = Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (!load) throw new UsageError(`unknown command "${command}"`);
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code) process.exitCode = code;
  },
  async (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`shiplog: ${message}\n`);
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write(`\n${await usage()}`);
    process.exit(1);
  },
);
