import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the domain boundary lint rule', () => {
  const forbidden = [
    "import Fastify from 'fastify';",
    "import { Kysely } from 'kysely';",
    "import Database from 'better-sqlite3';",
    "import pg from 'pg';",
    "import { buildApp } from '../http/build-app.js';",
    "import { serveInstance } from '../cli/commands/serve-instance.js';",
    "import { openSqlite } from '../store/dialects/sqlite.js';",
    "import { createStores } from '../store/sql/create-stores.js';",
  ];

  for (const folder of ['tracking', 'catalog', 'shared', 'sync', 'access', 'desk', 'halo', 'promotion']) {
    it(`refuses http, cli, web and database-driver imports in src/${folder}`, async () => {
      for (const line of forbidden) {
        expect(await restrictedImports(`src/${folder}/example.ts`, `${line}\nexport const x = 1;\n`), line).not.toHaveLength(0);
      }
    });
  }

  it('allows store interfaces in domain code and drivers in the store and http layers', async () => {
    expect(await restrictedImports('src/tracking/example.ts', "import type { Stores } from '../store/ports.js';\nexport type X = Stores;\n")).toEqual([]);
    expect(await restrictedImports('src/store/sql/example.ts', "import { Kysely } from 'kysely';\nexport const x = Kysely;\n")).toEqual([]);
    expect(await restrictedImports('src/http/example.ts', "import Fastify from 'fastify';\nexport const x = Fastify;\n")).toEqual([]);
  });
});
