// Writes the API document as every instance serves it at /openapi.json, built without a server from dist/ (npm run build):
//   node scripts/openapi.mjs [out.json] [--public-url URL] [--lint]
// --lint checks it with Redocly CLI (redocly.yaml); the exit code is Redocly's.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const lint = args.includes('--lint');
const urlAt = args.indexOf('--public-url');
const publicUrl = urlAt >= 0 ? args[urlAt + 1] : undefined;
const out = args.find((arg, i) => !arg.startsWith('--') && args[i - 1] !== '--public-url');

const { buildApp } = await import('../dist/http/build-app.js');
const { createBuiltinCatalog } = await import('../dist/catalog/builtin/index.js');
const { createServices } = await import('../dist/services.js');
const { systemClock } = await import('../dist/shared/clock.js');
const { parsePublicUrl } = await import('../dist/shared/public-url.js');
const { openDialect, migrateToLatest } = await import('../dist/store/open-database.js');
const { createTransactor } = await import('../dist/store/sql/create-stores.js');
const { ensureInstanceIdentity } = await import('../dist/tracking/instance-identity.js');
const { createSecretBox } = await import('../dist/tracking/secret-box.js');
const { shiplogVersion } = await import('../dist/version.js');

// The document does not depend on what an instance holds: a throwaway database is enough to build the app.
const scratch = mkdtempSync(join(tmpdir(), 'shiplog-openapi-'));
const dialect = openDialect(join(scratch, 'openapi.db'));
let document;
try {
  await migrateToLatest(dialect);
  const db = createTransactor(dialect);
  const instance = await ensureInstanceIdentity(db, systemClock, { name: 'openapi', kind: 'development' });
  const services = createServices(db, {
    instance,
    version: shiplogVersion,
    catalog: createBuiltinCatalog(),
    box: createSecretBox([randomBytes(32)]),
    clock: systemClock,
    ...(publicUrl ? { publicUrl: parsePublicUrl(publicUrl) } : {}),
  });
  const { app } = await buildApp(services);
  document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  await app.close();
} finally {
  await dialect.close();
  rmSync(scratch, { recursive: true, force: true });
}

const text = `${JSON.stringify(document, null, 2)}\n`;
if (!lint) {
  if (out) writeFileSync(out, text);
  else process.stdout.write(text);
  process.exit(0);
}
const lintDir = out ? null : mkdtempSync(join(tmpdir(), 'shiplog-openapi-lint-'));
const file = out ?? join(lintDir, 'openapi.json');
writeFileSync(file, text);
const redocly = spawnSync(join(root, 'node_modules', '.bin', 'redocly'), ['lint', file, '--config', join(root, 'redocly.yaml'), ...args.filter((a) => a.startsWith('--format'))], {
  stdio: 'inherit',
  // No usage reports and no update notices from a test run.
  env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
});
if (lintDir) rmSync(lintDir, { recursive: true, force: true });
process.exit(redocly.status ?? 1);
