#!/usr/bin/env node
// Makes the databases of test/fixtures/upgrade/ with earlier versions of Shiplog: for each version below it checks the
// commit out in a temporary worktree, builds it, runs its own `shiplog demo` (dev → staging → production, a starter
// configuration pushed along and one change left on dev) on SQLite and on PostgreSQL, stops it, and keeps dev's
// database: the SQLite file as it is, the PostgreSQL database as a plain pg_dump SQL file.
//
//   node scripts/make-upgrade-fixtures.mjs [LABEL…]      (PostgreSQL at SHIPLOG_FIXTURE_POSTGRES_URL, default
//                                                         postgres://postgres@127.0.0.1:5432/postgres; pg_dump on PATH)
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'test/fixtures/upgrade');

/** The versions kept, each a commit of main's own line (not of a branch merged into it), and what it changed about history. */
export const versions = [
  { label: 'v0005-summary-nodes', commit: '5966657', note: 'migration 0005; digests unkeyed (SHA-256)' },
  { label: 'v0013-unkeyed', commit: 'da6de8f^1', note: 'migrations to 0013 without 0012: the last version before keyed digests' },
  { label: 'v0012-keyed', commit: 'da6de8f', note: 'migration 0012 (after 0013): digests and chain keyed under the pipeline key' },
  { label: 'v0015-id-aliases', commit: '07fe89f', note: 'migration 0015' },
]

/** The pipeline key the fixtures were written under (a test key, published on purpose: the tests need it). */
export const FIXTURE_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

const adminUrl = process.env.SHIPLOG_FIXTURE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const urlOf = (database) => {
  const url = new URL(adminUrl);
  url.pathname = '/';
  // Put together as text: a URL object would escape the braces of {name}.
  return `${url.toString()}${database}`;
};

async function withAdmin(fn) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs the version's `shiplog demo` until every stage serves, then stops it with SIGINT. */
function runDemo(tree, dir, template, port) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['bin/shiplog.js', 'demo', '--dir', dir, '--base-port', String(port), '--database', template], {
      cwd: tree,
      env: { ...process.env, SHIPLOG_SECRET_KEY: FIXTURE_SECRET_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk) => {
      output += chunk;
      if (/production \(production\) is serving/.test(output)) child.kill('SIGINT');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (/production \(production\) is serving/.test(output)) resolvePromise();
      else reject(new Error(`demo ended (${code ?? signal}) before serving:\n${output}`));
    });
  });
}

async function make(version, port) {
  const tree = mkdtempSync(join(tmpdir(), `shiplog-${version.label}-`));
  rmSync(tree, { recursive: true });
  execFileSync('git', ['worktree', 'add', '--detach', tree, version.commit], { cwd: root, stdio: 'ignore' });
  try {
    symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: tree, stdio: 'inherit' });
    const made = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: tree, encoding: 'utf8' }).trim();

    const dir = join(tree, 'data');
    await runDemo(tree, dir, join(dir, '{name}.sqlite'), port);
    copyFileSync(join(dir, 'dev.sqlite'), join(out, `${version.label}.sqlite`));

    const prefix = `fixture_${version.label.replace(/[^a-z0-9]/g, '_')}`;
    const names = ['dev', 'staging', 'production'].map((name) => `${prefix}_${name}`);
    await withAdmin(async (client) => {
      for (const name of names) {
        await client.query(`drop database if exists ${name}`);
        await client.query(`create database ${name}`);
      }
    });
    try {
      await runDemo(tree, join(tree, 'data-pg'), urlOf(`${prefix}_{name}`), port + 10);
      const sql = execFileSync('pg_dump', ['--no-owner', '--no-privileges', '--format=plain', urlOf(names[0])], { encoding: 'utf8', maxBuffer: 1 << 28 });
      writeFileSync(join(out, `${version.label}.pg.sql`), sql);
    } finally {
      await withAdmin(async (client) => {
        for (const name of names) await client.query(`drop database if exists ${name}`);
      });
    }
    return { ...version, commit: made };
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: root, stdio: 'ignore' });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(out, { recursive: true });
  const wanted = process.argv.slice(2);
  let port = 47100;
  for (const version of versions.filter((v) => wanted.length === 0 || wanted.includes(v.label))) {
    const made = await make(version, port);
    port += 20;
    process.stdout.write(`${made.label}: made by ${made.commit} (${made.note})\n`);
  }
  if (!existsSync(join(out, 'README.md'))) process.stdout.write('test/fixtures/upgrade/README.md lists the versions\n');
}
