import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';

/** Lint for the whole workspace. Boundaries (STYLE.md) are enforced here, not by memory. */
export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'bench/results/**', 'test-results/**', '.cairn/**', 'plugins/*/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The engine's own code types what it handles (STYLE.md: no `any` at module boundaries); tests may stay loose.
    files: ['engine/src/**/*.ts'],
    rules: { 'no-console': 'error', '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    // The author-facing SDK runtime runs inside the sandbox: no Node built-ins, nothing of the engine.
    files: ['plugin-sdk/src/**/*.ts'],
    ignores: ['plugin-sdk/src/host/**', 'plugin-sdk/src/testing/**', 'plugin-sdk/src/cli/**', 'plugin-sdk/src/build/**', 'plugin-sdk/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'fs', 'path', 'http', 'https', 'net', 'child_process', 'crypto', 'os'], message: 'The SDK runtime runs in the sandbox: use ctx.http.fetch, ctx.store, ctx.secrets instead of Node modules.' },
        { group: ['@cairn/engine', '@cairn/engine/*', '**/engine/src/**'], message: 'The SDK never imports the engine.' },
      ] }],
    },
  },
  {
    files: ['plugins/*/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'fs', 'http', 'https', 'net', 'child_process'], message: 'Plugins run in the sandbox: use ctx.http.fetch and the other ctx capabilities.' },
        { group: ['@cairn/engine', '@cairn/engine/*', '**/engine/src/**'], message: 'Plugins import only @cairn/plugin-sdk.' },
      ] }],
    },
  },
  {
    files: ['builder-ui/src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': ['error', {
        paths: [{ name: '@cairn/engine', message: 'The builder UI imports only @cairn/engine/contracts.' }],
        patterns: [{ group: ['**/engine/src/**', '@cairn/engine/*', '!@cairn/engine/contracts'], message: 'The builder UI imports only @cairn/engine/contracts.' }],
      }],
    },
  },
  {
    files: ['**/test/**/*.ts', '**/*.test.ts', '**/test/fixtures/**'],
    rules: { 'no-empty': 'off' },
  },
);
