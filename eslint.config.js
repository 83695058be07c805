// Lint rules of the style in CONTRIBUTING.md: strict TS, no floating promises, no import cycles and
// the import directions test → anything, workers → src+machines, src → machines, machines → xstate.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const restrict = (patterns) => ['error', { patterns }];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
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
          group: ['../src/*', '../workers/*', '../test/*', 'node:*'],
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
      ]),
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/simulator/**', 'src/demo/**', 'src/dev/loadgen/**'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['**/workers/*', '**/test/*', '**/simulator/*', '**/demo/*'],
          message: 'production code never imports workers/, test/, the simulator or the demo.',
        },
      ]),
    },
  },
  {
    files: ['src/http/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['**/workers/*', '**/test/*', '**/media/*', '**/simulator/*'],
          message: 'the ingress never imports the media process, the simulator, workers/ or test/.',
        },
      ]),
    },
  },
  {
    files: ['src/simulator/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: [
            '**/workers/*',
            '**/test/*',
            '../calls/*',
            '../http/*',
            '../graph/*',
            '../queues/*',
            '../../machines/*',
          ],
          message:
            'the simulator is built from docs/teams-protocol.md, not from our implementation.',
        },
      ]),
    },
  },
  {
    files: ['workers/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['**/test/*'], message: 'workers/ never imports test/.' },
      ]),
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
);
