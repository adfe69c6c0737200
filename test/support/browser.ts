import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { root } from './cli.js';

/** Debian's Chromium (`.ci/run` installs it when missing); never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** axe-core on the screen as it is: no serious or critical violation. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), screen).toEqual([]);
}

/**
 * Screenshots into test-output/console/<engine>/; with SHIPLOG_DOCS_SCREENSHOTS=1 the main screens (from one
 * engine) go to docs/console/ instead, so a test run never changes the committed docs.
 */
export function screenshots(engine: string): (page: Page, name: string, options?: { docs?: boolean; fullPage?: boolean }) => Promise<void> {
  const outDir = join(root, 'test-output', 'console', engine);
  const docsDir = join(root, 'docs', 'console');
  mkdirSync(outDir, { recursive: true });
  return async (page, name, options = {}) => {
    const toDocs = options.docs === true && engine === 'sqlite' && process.env.SHIPLOG_DOCS_SCREENSHOTS === '1';
    await page.screenshot({ path: join(toDocs ? docsDir : outDir, `${name}.png`), fullPage: options.fullPage ?? false });
  };
}
