import { readFileSync } from 'node:fs';

/** The package version: instances only sync with instances of the same version. */
export const shiplogVersion: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
