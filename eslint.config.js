// ESLint: typescript-eslint's recommended rules, Prettier's formatting left to Prettier, and the
// layout rules of the design guide as import boundaries (import-x/no-restricted-paths, resolved
// through tsconfig so `./x.js` specifiers reach `x.ts`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const services = ['api', 'taskmanager', 'conductor'];

/** The dependency direction of ../shared/design.md: each zone lists what `target` may not import. */
const boundaries = [
  // the guest imports only src/common and src/rpc
  { target: './guestagent', from: './src', except: ['./common', './rpc'], message: 'the guest agent imports only src/common and src/rpc' },
  // nothing in src imports the guest
  { target: './src', from: './guestagent', message: 'the control plane never imports the guest agent' },
  // api, taskmanager and conductor never import each other
  ...services.flatMap((s) =>
    services
      .filter((o) => o !== s)
      .map((o) => ({ target: `./src/${s}`, from: `./src/${o}`, message: `src/${s} never imports src/${o}: the services talk over RPC` })),
  ),
  // common code knows no service, OpenStack client or database
  { target: './src/common', from: './src', except: ['./common'], message: 'src/common imports only src/common' },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.dist-next-*/', '.dist-old-*/', '.state/', 'tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js'],
    plugins: { 'import-x': importX },
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        fetch: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
        performance: 'readonly',
        URLSearchParams: 'readonly',
        NodeJS: 'readonly',
      },
    },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // the layout's import boundaries hold for the code that ships; a test may reach across to set up
    files: ['**/*.ts', '**/*.js'],
    ignores: ['**/*.test.ts', 'test/**', 'bench/**'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: boundaries }] },
  },
  {
    // tests reach into wire bodies of any shape
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  prettier,
);
