import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

const domainFolders = ['shared', 'catalog', 'tracking', 'sync', 'access', 'desk', 'halo', 'promotion'];
const forbiddenInDomain = {
  patterns: [
    { group: ['**/http/**', '**/cli/**', '**/web/**', '**/store/dialects/**', '**/store/sql/**', '**/store/migrations/**', '**/store/open-database*'], message: 'Domain code never imports http, cli, web or database dialects.' },
    { group: ['fastify', 'fastify/*', '@fastify/*', 'fastify-*', 'undici', 'better-sqlite3', 'pg', 'pg-*', 'kysely', 'node:http', 'node:https'], message: 'Domain code never imports HTTP or database drivers; use store interfaces.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', 'web/dist/**', 'web/src/api/schema.d.ts', 'test-output/**', '.shiplog-test/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: domainFolders.map((f) => `src/${f}/**/*.ts`),
    ignores: ['src/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', forbiddenInDomain] },
  },
  {
    files: ['scripts/**/*.mjs', 'bench/**/*.mjs', 'bin/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        ['process', 'console', 'URL', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'fetch'].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    files: ['web/src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: { globals: Object.fromEntries(['window', 'document', 'URL', 'Blob', 'setTimeout', 'clearTimeout', 'HTMLDivElement'].map((g) => [g, 'readonly'])) },
    rules: {
      ...reactHooks.configs.recommended.rules,
      // No React Compiler here: the virtualizer's unmemoizable API is fine.
      'react-hooks/incompatible-library': 'off',
      // The console talks to the API only through the generated client.
      'no-restricted-globals': ['error', { name: 'fetch', message: 'Use the generated client in web/src/api.' }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/src/**', '../../../*'], message: 'The console reaches the server only over HTTP.' }] }],
    },
  },
);
