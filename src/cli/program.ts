import { Command, Help } from 'commander';
import { shiplogVersion } from '../version.js';
import { backupCommand, restoreBackupCommand } from './commands/backup-database.js';
import { exportCommand } from './commands/export-changes.js';
import { importCommand } from './commands/import-changes.js';
import { adminTokenCommand } from './commands/issue-admin-token.js';
import { recordCommands, recordProgram } from './commands/manage-records.js';
import { requestsCommand } from './commands/promotion-requests.js';
import { restoreCommand } from './commands/restore-instance.js';
import { demoCommand } from './commands/serve-demo.js';
import { serveCommand } from './commands/serve-instance.js';
import { statusCommand } from './commands/show-status.js';
import { syncCommand } from './commands/sync-changes.js';

/** Help is laid out at one width wherever it is printed, so docs/cli.md can show it as it is. */
const HELP_WIDTH = 100;

const visible = (command: Command) => command.commands.filter((c) => c.name() !== 'help');
const pathOf = (command: Command): string => (command.parent ? `${pathOf(command.parent)} ${command.name()}` : command.name());

/** Help of a command with verbs: each verb's usage on a line, what it does under it, then the options they share. */
function verbsHelp(command: Command, helper: Help): string {
  const fallback = command.commands.find((c) => c.name() === (command as unknown as { _defaultCommandName?: string })._defaultCommandName);
  const lines = [`Usage: ${pathOf(command)} ${command.usage()} — ${command.description()}${fallback ? ` (\`${pathOf(command)}\` alone: ${fallback.name()})` : ''}`, ''];
  // A verb without arguments or options of its own shows none (its options are those of every verb).
  for (const verb of visible(command)) lines.push(`  ${pathOf(verb)} ${verb.usage().replace(/^\[options\]$/, '')}`.trimEnd(), `      ${verb.description()}`);
  const shared = visible(command)[0]?.options.filter((o) => ['--url', '--token', '--timeout', '--json'].includes(o.long ?? '')) ?? [];
  const width = Math.max(...shared.map((o) => helper.optionTerm(o).length));
  lines.push('', 'Options of every verb:', ...shared.map((o) => `  ${helper.optionTerm(o).padEnd(width)}  ${helper.optionDescription(o)}`));
  return `${lines.join('\n')}\n`;
}

function programHelp(program: Command): string {
  const commands = visible(program);
  const width = Math.max(...commands.map((c) => c.name().length), 'help'.length);
  return `Usage: shiplog <command> [options]

Commands:
${[...commands.map((c) => `  ${c.name().padEnd(width)}  ${c.summary() || c.description()}`), `  ${'help'.padEnd(width)}  shiplog help COMMAND (or shiplog COMMAND --help) shows a command's usage`].join('\n')}

Commands that talk to a running instance take --url, --token and --timeout (or SHIPLOG_URL,
SHIPLOG_TOKEN and SHIPLOG_TIMEOUT). Exit codes: 0 done, 1 error (a wrong call among them), 2 refused
by the sync rules (nothing was written). shiplog --version prints the version.
`;
}

/**
 * Every command of `shiplog`, parsed by commander. Each command module defines its own command (its arguments, options
 * and help) and loads what it runs only when it runs. Actions set process.exitCode; a wrong call throws CommanderError
 * (see main.ts).
 */
export function buildProgram(): Command {
  const program = new Command('shiplog').usage('<command> [options]').version(shiplogVersion, '-V, --version', 'print the version');
  for (const command of [
    serveCommand(),
    demoCommand(),
    adminTokenCommand(),
    statusCommand(),
    syncCommand('push'),
    syncCommand('pull'),
    exportCommand(),
    importCommand(),
    restoreCommand(),
    backupCommand(),
    restoreBackupCommand(),
    ...recordCommands.map(recordProgram),
    recordProgram(requestsCommand),
  ]) {
    program.addCommand(command);
  }
  const settle = (command: Command) => {
    command
      .configureHelp({
        helpWidth: HELP_WIDTH,
        formatHelp: (cmd, helper) => (cmd === program ? programHelp(cmd) : visible(cmd).length > 0 ? verbsHelp(cmd, helper) : Help.prototype.formatHelp.call(helper, cmd, helper)),
      })
      .helpOption('-h, --help', 'show this help')
      .showSuggestionAfterError(true)
      .exitOverride()
      // Said once, in one line, by main.ts: the error and where the command's help is.
      .configureOutput({ outputError: () => undefined });
    for (const sub of command.commands) settle(sub);
  };
  settle(program);
  program.helpCommand('help [command]', 'show the usage of a command');
  return program;
}

/** Where `command`'s help is. */
export function helpPointer(command: Command): string {
  return command.parent ? `${pathOf(command)} --help` : 'shiplog help';
}
