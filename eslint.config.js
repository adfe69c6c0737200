import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const domainFolders = ['shared', 'catalog', 'tracking', 'sync', 'access', 'desk', 'halo'];
const forbiddenInDomain = {
  patterns: [
    { group: ['**/http/**', '**/cli/**', '**/web/**', '**/store/dialects/**', '**/store/sql/**', '**/store/migrations/**', '**/store/open-database*'], message: 'Domain code never imports http, cli, web or database dialects.' },
    { group: ['fastify', 'fastify/*', '@fastify/*', 'fastify-*', 'undici', 'better-sqlite3', 'pg', 'pg-*', 'kysely', 'node:http', 'node:https'], message: 'Domain code never imports HTTP or database drivers; use store interfaces.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', 'web/dist/**', '.shiplog-test/**'] },
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
);
