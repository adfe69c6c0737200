import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordCommands } from './commands/manage-records.js';
import { buildProgram } from './program.js';

describe('the shiplog program', () => {
  it('is documented in docs/cli.md command by command, as `shiplog help COMMAND` prints it', () => {
    const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    const program = buildProgram();
    for (const command of program.commands.filter((c) => c.name() !== 'help')) {
      expect(doc, `docs/cli.md: shiplog help ${command.name()}`).toContain(command.helpInformation());
    }
    expect(doc).toContain(program.helpInformation());
  });

  it('names each command once, and each verb once per command', () => {
    const names = buildProgram().commands.map((c) => c.name());
    expect(new Set(names).size).toBe(names.length);
    for (const command of recordCommands) expect(new Set(command.verbs.map((v) => v.name)).size, command.name).toBe(command.verbs.length);
  });
});
