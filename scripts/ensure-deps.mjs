// Installs dependencies when node_modules is missing or older than package-lock.json.
import { existsSync, statSync } from 'node:fs';
import { execSync } from 'node:child_process';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs;
if (stale) {
  console.error('shiplog: installing dependencies (npm ci)…');
  // Where no prebuilt better-sqlite3 can be fetched it compiles: SQLite and its binding side by side, on every core.
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit', env: { ...process.env, JOBS: process.env.JOBS ?? 'max' } });
}
