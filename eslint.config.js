// Lint, including the layer rules of ../shared/ARCHITECTURE.md:
//   renderer -> shared (+ preload API type); preload -> shared; main -> companion, net, shared;
//   companion -> relay, net, shared; device -> relay, net, shared; relay -> net, shared;
//   net -> shared; shared -> nothing with I/O.
// Only src/main and src/preload may import electron. A forbidden import fails `npm test`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const layer = (name) => [`**/${name}`, `**/${name}/**`, `src/${name}/**`];
const electron = { name: 'electron', message: 'Only src/main and src/preload may import electron.' };
const nodeBuiltins = ['node:*', 'fs', 'fs/*', 'net', 'tls', 'http', 'https', 'child_process', 'os', 'dgram', 'crypto', 'path', 'worker_threads', 'dns'];

function forbid(files, layers, extra = {}) {
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electron, ...(extra.paths ?? [])],
          patterns: [
            ...layers.map((l) => ({ group: layer(l), message: `This layer must not import src/${l} (see ARCHITECTURE.md, Layers).` })),
            ...(extra.patterns ?? []),
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'dist/**', 'test-artifacts/**', 'bench/results/**', 'scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  forbid(['src/shared/**'], ['main', 'preload', 'renderer', 'companion', 'device', 'net', 'relay'], {
    patterns: [{ group: nodeBuiltins, message: 'src/shared is pure TypeScript without I/O.' }],
  }),
  forbid(['src/net/**'], ['main', 'preload', 'renderer', 'companion', 'device', 'relay']),
  // lancam-relay (server, and the relay-client helpers cameras and clients use) sits on net.
  forbid(['src/relay/**'], ['main', 'preload', 'renderer', 'companion', 'device']),
  forbid(['src/device/**'], ['main', 'preload', 'renderer', 'companion']),
  forbid(['src/companion/**'], ['main', 'preload', 'renderer', 'device']),
  {
    files: ['src/main/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...['renderer', 'device'].map((l) => ({ group: layer(l), message: `src/main must not import src/${l}.` }))] }],
    },
  },
  {
    files: ['src/preload/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...['renderer', 'device', 'companion', 'net', 'main'].map((l) => ({ group: layer(l), message: `src/preload must not import src/${l}.` }))] }],
    },
  },
  forbid(['src/renderer/**'], ['main', 'companion', 'device', 'net'], {
    patterns: [
      { group: ['**/preload/**', '!**/preload/api', '!**/preload/api.ts'], message: 'The renderer may import only the preload API type.' },
      { group: nodeBuiltins, message: 'The renderer has no Node access.' },
    ],
  }),
  forbid(['test/**', 'bench/**'], []),
  { files: ['src/renderer/**'], languageOptions: { globals: { ...globals.browser } } },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' }, rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
