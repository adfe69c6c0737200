import { adminTokenUsage, issueAdminToken } from './commands/issue-admin-token.js';
import { serveInstance, serveUsage, UsageError } from './commands/serve-instance.js';

const usage = `Usage: shiplog <command> [options]

Commands:
  serve        serve one instance
  admin-token  issue a new API token for the administrator
  help         show this help

${serveUsage}

${adminTokenUsage}
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serveInstance(rest);
    case 'admin-token':
      return issueAdminToken(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`shiplog: ${message}\n`);
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write(`\n${usage}`);
  process.exit(1);
});
