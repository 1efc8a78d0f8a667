// berth's lint rules: typescript-eslint's recommended set, plus the layering of the code base
// (docs/architecture.md): the CLI and client never reach into the engine, the engine never
// into the API or CLI, and kernel-facing code (src/sys) depends on nothing above it.
import tseslint from 'typescript-eslint';

const layer = (files, forbidden, message) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: forbidden.map((group) => ({ group: [group], message })) }],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  layer(['src/cli/**', 'src/client/**'], ['**/engine/**', '**/sys/**', '**/api/**'], 'the CLI is a client of the Engine API: go through src/client'),
  layer(['src/engine/**'], ['**/api/**', '**/cli/**', '**/client/**', '**/daemon/**'], 'the engine knows nothing of its callers'),
  layer(['src/sys/**'], ['**/engine/**', '**/api/**', '**/cli/**', '**/client/**', '**/daemon/**'], 'kernel-facing code depends on nothing above it'),
  layer(['src/api/**'], ['**/cli/**', '**/client/**', '**/daemon/**'], 'the API serves the engine; it does not depend on the daemon or CLI'),
  {
    files: ['bench/**/*.mjs', 'scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
