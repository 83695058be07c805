// Lint rules of the style in CONTRIBUTING.md: strict TS, no floating promises, no import cycles and
// the import directions test → anything, workers → src+machines, src → machines, machines → xstate,
// and the workspace packages (packages/*) → nothing of the orchestrator; only src/demo and src/dev
// may run the simulator.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const restrict = (patterns) => ['error', { patterns }];
/** Product code (src/ but the demo and dev tooling, workers/, machines/) never runs the simulator. */
const NO_SIMULATOR = {
  group: [
    '@cr-orchestrator/teams-simulator',
    '@cr-orchestrator/teams-simulator/*',
    '**/packages/teams-simulator/*',
  ],
  message: 'production code never imports the simulator (@cr-orchestrator/teams-simulator).',
};
/** A workspace package is imported by its name and its `exports`, never by a path into packages/. */
const BY_PACKAGE_NAME = {
  group: ['**/packages/*', '@cr-orchestrator/*/*'],
  message: 'import a workspace package by its name (@cr-orchestrator/media-protocol), not by path.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'packages/*/dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver()] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['machines/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: [
            '../src/*',
            '../workers/*',
            '../test/*',
            '../packages/*',
            '@cr-orchestrator/*',
            'node:*',
          ],
          message: 'machines/ imports only xstate (machines are pure, see CONTRIBUTING.md).',
        },
      ]),
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['**/workers/*', '**/test/*'], message: 'src/ never imports workers/ or test/.' },
        BY_PACKAGE_NAME,
      ]),
    },
  },
  {
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    ignores: ['src/demo/**', 'src/dev/**'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['**/workers/*', '**/test/*', '**/demo/*'],
          message: 'production code never imports workers/, test/ or the demo.',
        },
        NO_SIMULATOR,
        BY_PACKAGE_NAME,
      ]),
    },
  },
  {
    // browser code: bundled by Vite, it reads only the operator API over HTTP
    files: ['src/console/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['../*', 'node:*'],
          message: 'the console (browser code) imports nothing from outside src/console.',
        },
      ]),
    },
  },
  {
    files: ['src/http/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['**/workers/*', '**/test/*', '**/media/*', '@cr-orchestrator/media-protocol'],
          message:
            'the ingress never imports the media process, the media codec, workers/ or test/.',
        },
        NO_SIMULATOR,
        BY_PACKAGE_NAME,
      ]),
    },
  },
  {
    files: ['workers/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['**/test/*'], message: 'workers/ never imports test/.' },
        NO_SIMULATOR,
        BY_PACKAGE_NAME,
      ]),
    },
  },
  {
    files: ['packages/teams-simulator/src/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['../*', '@cr-orchestrator/*', '!@cr-orchestrator/media-protocol'],
          message:
            'the simulator package imports its own files, @cr-orchestrator/media-protocol and its dependencies, never the orchestrator (it is built from docs/teams-protocol.md, not from our implementation).',
        },
      ]),
    },
  },
  {
    files: ['packages/media-protocol/src/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['../*', '@cr-orchestrator/*'],
          message: 'the codec package imports only its own files and node: built-ins.',
        },
      ]),
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
);
