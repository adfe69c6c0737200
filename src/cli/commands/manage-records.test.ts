import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordCommands, recordUsage } from './manage-records.js';

describe('the record commands', () => {
  it('are documented in docs/cli.md verb by verb, as `shiplog help COMMAND` prints them', () => {
    const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
    for (const command of recordCommands) {
      const lines = recordUsage(command).split('\n');
      for (const [i, line] of lines.entries()) {
        if (!line.startsWith('  shiplog ')) continue;
        expect(doc, `docs/cli.md: ${line.trim()}`).toContain(`${line}\n${lines[i + 1]}`);
      }
    }
  });

  it('name each verb once per command', () => {
    for (const command of recordCommands) expect(new Set(command.verbs.map((v) => v.name)).size, command.name).toBe(command.verbs.length);
    expect(new Set(recordCommands.map((c) => c.name)).size).toBe(recordCommands.length);
  });
});
