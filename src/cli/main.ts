import { CommanderError, type Command } from 'commander';
import { buildProgram, helpPointer } from './program.js';
import { UsageError } from './usage-error.js';

/** Runs `shiplog`: exit code 0 done, 1 an error (a wrong call among them), 2 refused by the sync rules (set by the commands). */
async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  // The command running, or the one whose arguments were wrong: its help is where a wrong call points.
  let current: Command = program;
  const follow = (command: Command) => {
    command.hook('preSubcommand', (_parent, sub) => {
      current = sub;
    });
    command.commands.forEach(follow);
  };
  follow(program);
  program.hook('preAction', (_program, action) => {
    current = action;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end the parse this way too, with exit code 0.
      if (error.exitCode !== 0 && error.code !== 'commander.help') wrongCall(error.message.replace(/^error: /, ''), current);
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof UsageError) {
      wrongCall(error.message, current);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`shiplog: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

function wrongCall(message: string, command: Command): void {
  process.stderr.write(`shiplog: ${message.trim().replace(/\n+/g, ' ')} (${helpPointer(command)} shows how to call it)\n`);
}

await main(process.argv.slice(2));
