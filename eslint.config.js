// ESLint: typescript-eslint's recommended rules, Prettier's formatting left to Prettier, and the
// layout rules of the design guide as import boundaries (import-x/no-restricted-paths, resolved
// through tsconfig so `./x.js` specifiers reach `x.ts`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { readdirSync, readFileSync } from 'node:fs';

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

/**
 * SQL only in src/db (issue 13 item 1): the knex handle is opened where a process is wired (src/cmd
 * and the services' start functions) and handed on, but only src/db's repository functions query
 * through it. Elsewhere the rule refuses knex and the database drivers as imports (types too),
 * calling the handle under its usual names (`db(...)`, `trx(...)`, `ctx.db(...)`, `deps.db(...)`),
 * any of its members but `destroy` (`db.raw`, `ctx.db.transaction`, ...), and, whatever the handle
 * is called, a call whose first argument names a table of migrations/ (`q('instances')`).
 */
const TABLES = readdirSync(new URL('./migrations/', import.meta.url))
  .filter((f) => f.endsWith('.ts'))
  .flatMap((f) => [...readFileSync(new URL(`./migrations/${f}`, import.meta.url), 'utf8').matchAll(/createTable\('([a-z_]+)'/g)].map((m) => m[1]));
const tableName = `/^(${[...new Set(TABLES)].join('|')})( as [a-z_]+)?$/`;
const HANDLE = '/^(db|trx|knex)$/';
const SQL_ONLY_IN_DB = 'SQL is written only in src/db: add (or use) a typed repository function there (issue 13 item 1)';
const sqlOnlyInDb = [
  { selector: `CallExpression[callee.type='Identifier'][callee.name=${HANDLE}]`, message: SQL_ONLY_IN_DB },
  { selector: `CallExpression[callee.type='MemberExpression'][callee.property.name=${HANDLE}]`, message: SQL_ONLY_IN_DB },
  { selector: `MemberExpression[object.type='Identifier'][object.name=${HANDLE}][property.name!='destroy']`, message: SQL_ONLY_IN_DB },
  { selector: `MemberExpression[object.type='MemberExpression'][object.property.name=${HANDLE}][property.name!='destroy']`, message: SQL_ONLY_IN_DB },
  { selector: `CallExpression[arguments.0.type='Literal'][arguments.0.value=${tableName}]`, message: SQL_ONLY_IN_DB },
  { selector: `CallExpression[arguments.0.type='TemplateLiteral'][arguments.0.quasis.0.value.raw=${tableName}]`, message: SQL_ONLY_IN_DB },
  { selector: "TSImportType[source.value='knex']", message: SQL_ONLY_IN_DB },
];
const driverImports = ['knex', 'mysql2', 'mysql2/promise', 'better-sqlite3'].map((name) => ({ name, message: SQL_ONLY_IN_DB }));

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
    // SQL only in src/db; src/cmd wires the handle in, migrations and tests may query directly
    files: ['src/**/*.ts', 'tools/**/*.ts'],
    ignores: ['src/db/**', 'src/cmd/**', '**/*.test.ts'],
    rules: {
      'no-restricted-syntax': ['error', ...sqlOnlyInDb],
      'no-restricted-imports': ['error', { paths: driverImports }],
    },
  },
  {
    // tests reach into wire bodies of any shape
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  prettier,
);
