import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` puts the console: dist/web, two levels above both src/http and dist/http. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/** Paths that belong to the API: they never fall back to the console. */
const API_PREFIXES = ['/v1/', '/api/', '/auth/', '/openapi.json', '/healthz', '/readyz'];

/** No inline script or style, nothing framed, nothing loaded from elsewhere. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface WebConsole {
  /** Answers the request from the console's files; false when the request is not the console's. */
  serve(request: FastifyRequest, reply: FastifyReply): Promise<boolean>;
}

function isApiPath(path: string): boolean {
  return API_PREFIXES.some((prefix) => path === prefix.replace(/\/$/, '') || path.startsWith(prefix));
}

function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

const COMPRESSIBLE = new Set(['.js', '.css', '.svg', '.json', '.txt', '.html']);

/** The encoding the client accepts that Shiplog offers: brotli, else gzip, else none. */
function encodingFor(request: FastifyRequest): 'br' | 'gzip' | null {
  const accept = request.headers['accept-encoding'];
  if (typeof accept !== 'string') return null;
  if (/\bbr\b/.test(accept)) return 'br';
  return /\bgzip\b/.test(accept) ? 'gzip' : null;
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cross-origin-opener-policy', 'same-origin');
}

/**
 * The console's static files. Hashed assets (`/assets/*`) are cached for a year as immutable; index.html is
 * never cached, so a new build is picked up at the next load. Other GETs that accept HTML get index.html, so
 * deep links survive a reload. Null when the console was not built.
 */
export function webConsole(dir: string = DEFAULT_CONSOLE_DIR): WebConsole | null {
  const indexFile = join(dir, 'index.html');
  if (!existsSync(indexFile)) return null;
  const index = readFileSync(indexFile);
  const root = normalize(dir + sep);
  // Each file compressed once, on first request: the build's files never change while the process runs.
  const compressed = new Map<string, Buffer>();

  async function send(request: FastifyRequest, reply: FastifyReply, key: string, body: Buffer, type: string): Promise<void> {
    const encoding = COMPRESSIBLE.has(extname(key) || '.html') ? encodingFor(request) : null;
    void reply.type(type).header('vary', 'accept-encoding');
    if (!encoding) {
      await reply.send(body);
      return;
    }
    const cacheKey = `${encoding}:${key}`;
    let packed = compressed.get(cacheKey);
    if (!packed) {
      packed = encoding === 'br' ? brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }) : gzipSync(body, { level: 9 });
      compressed.set(cacheKey, packed);
    }
    await reply.header('content-encoding', encoding).send(packed);
  }

  async function file(path: string): Promise<Buffer | null> {
    const full = normalize(join(root, decodeURIComponent(path)));
    if (!full.startsWith(root) || full === root) return null;
    try {
      if (!statSync(full).isFile()) return null;
      return await readFile(full);
    } catch {
      return null;
    }
  }

  return {
    async serve(request, reply) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return false;
      const path = request.url.split('?')[0] ?? '/';
      if (isApiPath(path)) return false;
      let body: Buffer | null = null;
      try {
        if (path !== '/' && TYPES[extname(path)]) body = await file(path);
      } catch {
        // A path that is not valid percent-encoding names no file.
        body = null;
      }
      if (body) {
        const cache = path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=300';
        await send(request, secure(reply).header('cache-control', cache), path, body, TYPES[extname(path)]!);
        return true;
      }
      if (path.startsWith('/assets/') || !wantsHtml(request)) return false;
      await send(request, secure(reply).header('cache-control', 'no-cache'), '/index.html', index, 'text/html; charset=utf-8');
      return true;
    },
  };
}
