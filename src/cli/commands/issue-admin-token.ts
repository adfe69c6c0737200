import { parseArgs } from 'node:util';
import { issueAdministratorToken } from '../../access/bootstrap.js';
import { systemClock } from '../../shared/clock.js';
import { migrateToLatest, openDialect } from '../../store/open-database.js';
import { createTransactor } from '../../store/sql/create-stores.js';

export const adminTokenUsage = `shiplog admin-token --database ./data/NAME.sqlite | postgres://…

  Issues a new API token for the instance's administrator and prints it once (the first one is
  shown only at first start). Needs direct access to the instance's database.`;

export async function issueAdminToken(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { database: { type: 'string' } }, strict: true });
  if (!values.database) throw new Error('--database is required');
  const dialect = openDialect(values.database);
  try {
    await migrateToLatest(dialect);
    const { agent, token } = await issueAdministratorToken(createTransactor(dialect), systemClock, 'issued by shiplog admin-token');
    process.stdout.write(`Administrator: ${agent.email}\nNew API token (shown once, keep it safe): ${token}\n`);
  } finally {
    await dialect.close();
  }
}
