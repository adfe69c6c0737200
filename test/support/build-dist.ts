import { execFileSync } from 'node:child_process';
import { root } from './cli.js';

/** Vitest global setup: the e2e tests run the CLI as shipped, from dist/, so it is built once before any test file. */
export default function buildDist(): void {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}
