import { Command } from 'commander';

export function adminTokenCommand(): Command {
  return new Command('admin-token')
    .summary('issue a new API token for the administrator')
    .description(
      "Issues a new API token for the instance's administrator and prints it once (the first one is shown only at first start). Needs direct access to the instance's database.",
    )
    .usage('--database ./data/NAME.sqlite | postgres://…')
    .requiredOption('--database <DATABASE>', "the instance's database: a SQLite file or a postgres:// URL")
    .action(async (values: { database: string }) => issueAdminToken(values.database));
}

async function issueAdminToken(database: string): Promise<void> {
  // Loaded here: the other commands start without the server's modules.
  const [{ issueAdministratorToken }, { systemClock }, { migrateToLatest, openDialect }, { createTransactor }] = await Promise.all([
    import('../../access/bootstrap.js'),
    import('../../shared/clock.js'),
    import('../../store/open-database.js'),
    import('../../store/sql/create-stores.js'),
  ]);
  const dialect = openDialect(database);
  try {
    await migrateToLatest(dialect);
    const { agent, token } = await issueAdministratorToken(createTransactor(dialect), systemClock, 'issued by shiplog admin-token');
    process.stdout.write(`Administrator: ${agent.email}\nNew API token (shown once, keep it safe): ${token}\n`);
  } finally {
    await dialect.close();
  }
}
