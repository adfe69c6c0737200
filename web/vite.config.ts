import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console is served by every instance from dist/web; in development `vite` proxies the API to one.
const api = process.env.SHIPLOG_URL ?? 'http://127.0.0.1:4100';

export default defineConfig({
  root: 'web',
  plugins: [react(), tailwindcss()],
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    // The polyfill would be the only inline script; every browser the console supports has modulepreload.
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: false,
  },
  server: {
    proxy: Object.fromEntries(['/v1', '/api', '/auth', '/openapi.json', '/healthz'].map((path) => [path, { target: api }])),
  },
});
