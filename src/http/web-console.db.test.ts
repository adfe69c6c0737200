import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { buildApp, type ShiplogApp } from './build-app.js';

const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

// Serving files touches no table: one engine is enough.
describe('the web console served by an instance', () => {
  let t: TestInstance;
  let built: ShiplogApp;
  let bare: ShiplogApp;
  let outside: string;
  let dir: string;

  beforeAll(async () => {
    outside = mkdtempSync(join(tmpdir(), 'shiplog-console-'));
    dir = join(outside, 'web');
    mkdirSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Shiplog</title><script type="module" src="/assets/index-abc123.js"></script>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(dir, '..', 'secret.txt'), 'outside');
    t = await createTestInstance('sqlite');
    built = await buildApp(t.services, { consoleDir: dir });
    bare = await buildApp(t.services, { consoleDir: join(dir, 'missing') });
  });
  afterAll(async () => {
    await built?.app.close();
    await bare?.app.close();
    await t?.close();
    rmSync(outside, { recursive: true, force: true });
  });

  it('serves index.html at / and at any deep link that accepts HTML, never cached, under a strict CSP', async () => {
    for (const url of ['/', '/changes?type=teams', '/changes/01HZZZZZZZZZZZZZZZZZZZZZZZ', '/sign-in']) {
      const res = await built.app.inject({ method: 'GET', url, headers: html });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.body).toContain('<title>Shiplog</title>');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('caches hashed assets for a year as immutable; other files briefly', async () => {
    const asset = await built.app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    for (const encoding of ['br', 'gzip'] as const) {
      const packed = await built.app.inject({ method: 'GET', url: '/assets/index-abc123.js', headers: { 'accept-encoding': `${encoding}, deflate` } });
      expect(packed.headers['content-encoding']).toBe(encoding);
      expect(packed.headers.vary).toBe('accept-encoding');
      const body = encoding === 'br' ? brotliDecompressSync(packed.rawPayload) : gunzipSync(packed.rawPayload);
      expect(body.toString()).toBe('console.log(1)');
    }
    const icon = await built.app.inject({ method: 'GET', url: '/favicon.svg' });
    expect(icon.headers['cache-control']).toBe('public, max-age=300');
  });

  it('keeps the API answering as before: JSON problems for unknown API paths, missing assets and non-HTML requests', async () => {
    for (const [url, headers] of [
      ['/v1/nothing-here', html],
      ['/api/nothing-here', html],
      ['/auth/nothing-here', html],
      ['/assets/missing-000.js', html],
      ['/changes', { accept: 'application/json' }],
      ['/%2e%2e/secret.txt', html],
      ['/assets/%2e%2e%2f%2e%2e%2fsecret.txt', {}],
      ['/%E0%A4%A.js', {}],
    ] as const) {
      const res = await built.app.inject({ method: 'GET', url, headers });
      expect(res.body, url).not.toContain('outside');
      if (res.statusCode === 200) {
        expect(res.headers['content-type'], url).toBe('text/html; charset=utf-8');
        continue;
      }
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, url).toBeLessThan(500);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
    }
    expect((await built.app.inject({ method: 'GET', url: '/healthz', headers: html })).json()).toEqual({ ok: true });
    expect((await built.app.inject({ method: 'GET', url: '/openapi.json', headers: html })).json()).toHaveProperty('openapi');
    expect((await built.app.inject({ method: 'POST', url: '/changes', headers: html })).statusCode).toBe(404);
  });

  it('answers JSON 404s everywhere when the console was not built', async () => {
    const res = await bare.app.inject({ method: 'GET', url: '/', headers: html });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });
});
