// ESLint flat config: a small recommended base, plus the layering of DESIGN.md as import rules.
//
//   cli/http → client → workflows → activities → ml / storage → contracts   (imports point down only)
//
// `no-restricted-imports` matches the import *specifier*, not the resolved file, so a folder is
// named by its relative specifier `../folder/…` (any number of `../`). That is exact as long as no
// folder has a subfolder named like a top-level folder (none does). One config block per layer:
// ESLint replaces (does not merge) a rule's options when two blocks match a file, so each layer's
// block carries its whole list.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** A repository folder as a relative import specifier from anywhere below another folder. */
const folder = (name) => `^(\\.\\./)+${name}(/|$)`;

/** Restrict repository folders: `{ activities: 'why', … }` → patterns. */
const folders = (layer, why) =>
  Object.entries(why).map(([name, reason]) => ({
    regex: folder(name),
    caseSensitive: true,
    message: `Layering (DESIGN.md): ${layer}/ must not import ${name}/ — ${reason}`,
  }));

const builtins = builtinModules.filter((m) => !m.startsWith('_')).map((m) => m.replace(/[/.]/g, '\\$&'));
/** Node built-ins, both `node:x` and bare `fs`, `fs/promises`, `path`, … */
const nodeBuiltins = (layer, reason) => ({
  regex: `^(node:.*|(${builtins.join('|')})(/.*)?)$`,
  caseSensitive: true,
  message: `Layering (DESIGN.md): ${layer}/ must not import Node built-ins — ${reason}`,
});

const pkg = (regex, layer, what, reason) => ({
  regex,
  caseSensitive: true,
  message: `Layering (DESIGN.md): ${layer}/ must not import ${what} — ${reason}`,
});

// Rules every shipped layer shares: no test or bench code, and no import of the package by its
// own name (`lightpath`, `lightpath/ml`, …), which would bypass the folder rules.
const shipped = (layer) => [
  ...folders(layer, {
    test: 'tests and their helpers do not ship.',
    bench: 'benchmarks do not ship.',
  }),
  pkg('^lightpath(/|$)', layer, "the package by its own name ('lightpath…')", 'use a relative import so the layering rules can see it.'),
];

// `no-restricted-imports` does not see `import('…')`; `no-restricted-syntax` covers dynamic imports where it matters.
const dynamicImport = (selector, message) => ({ selector: `ImportExpression${selector}`, message: `Layering (DESIGN.md): ${message}` });

const restrict = (files, patterns, dynamic = []) => ({
  files,
  rules: {
    '@typescript-eslint/no-restricted-imports': ['error', { patterns }],
    ...(dynamic.length ? { 'no-restricted-syntax': ['error', ...dynamic] } : {}),
  },
});

const layers = [
  // contracts/: the shared language. Allow-list: zod and other contracts files at run time; type-only
  // `@temporalio/common` (erased by `import type`).
  restrict(
    ['contracts/**/*.ts'],
    [
      {
        group: ['@temporalio/common'],
        allowTypeImports: true,
        message: 'Layering (DESIGN.md): contracts/ may import @temporalio/common only with `import type` (erased at run time); its only run-time dependency is zod.',
      },
      {
        regex: '^(?!zod(/|$)|\\./|@temporalio/common$)',
        caseSensitive: true,
        message:
          'Layering (DESIGN.md): contracts/ is the shared language at the bottom of the stack — it may import only zod and other contracts/ files (no other repository folder, no Node built-ins, no tfjs, no AWS SDK).',
      },
      ...shipped('contracts'),
    ],
    [dynamicImport('', 'contracts/ loads nothing at run time beyond zod and its own files; no dynamic import().')],
  ),

  // workflows/: deterministic, bundled by Temporal.
  restrict(
    ['workflows/**/*.ts'],
    [
      pkg('^@tensorflow/', 'workflows', 'TensorFlow.js', 'workflows are deterministic orchestration and never touch a tensor; call an activity.'),
      pkg('^@aws-sdk/', 'workflows', 'the AWS SDK', 'workflows do no I/O; storage is reached through activities.'),
      nodeBuiltins('workflows', 'workflow code is bundled by Temporal and runs in a deterministic sandbox.'),
      {
        regex: '^@temporalio/(?!workflow$|common$)',
        caseSensitive: true,
        allowTypeImports: true,
        message:
          'Layering (DESIGN.md): workflows/ may use only @temporalio/workflow and @temporalio/common at run time (other Temporal packages are not workflow-sandbox safe); types are fine with `import type`.',
      },
      {
        regex: '^(\\.\\./)+ml(/(?!(oui-pruner|glai/settled)\\.js$)|$)',
        caseSensitive: true,
        message: 'Layering (DESIGN.md): workflows/ may import only the pure ml modules ml/oui-pruner.ts and ml/glai/settled.ts; the rest of ml/ loads TensorFlow.js and belongs behind an activity.',
      },
      ...folders('workflows', {
        activities: 'workflows call activities through proxyActivities and the interfaces in contracts/, never their implementation.',
        storage: 'workflows do no I/O; artifacts are reached through activities.',
        client: 'the client sits above workflows (cli/http → client → workflows).',
        cli: 'cli/ sits above workflows (cli/http → client → workflows).',
        http: 'http/ sits above workflows (cli/http → client → workflows).',
        workers: 'workers host workflows; workflows do not know how they are hosted.',
      }),
      ...shipped('workflows'),
    ],
    [dynamicImport('', 'workflows/ are bundled by Temporal ahead of time; a dynamic import() escapes the bundle and the import rules.')],
  ),

  // ml/ and storage/: know nothing of Temporal, nor of each other.
  ...[
    ['ml', 'storage', 'ml/ is pure TensorFlow.js math; artifacts are read and written by activities.'],
    ['storage', 'ml', 'storage/ moves bytes; the math is called by activities.'],
  ].map(([layer, other, otherReason]) =>
    restrict(
      [`${layer}/**/*.ts`],
      [
        pkg('^@temporalio/', layer, 'Temporal', `nothing in ${layer}/ knows Temporal exists; adapters live in activities/.`),
        ...folders(layer, {
          [other]: otherReason,
          activities: 'activities/ are the adapters above ml/ and storage/.',
          workflows: 'workflows/ sit above (workflows → activities → ml / storage).',
          client: 'client/ sits above (client → workflows → activities → ml / storage).',
          cli: 'cli/ sits at the top of the stack.',
          http: 'http/ sits at the top of the stack.',
          workers: 'workers/ host activities; the layers below do not know how they are hosted.',
        }),
        ...shipped(layer),
      ],
      [dynamicImport('[source.value=/^@temporalio/]', `nothing in ${layer}/ knows Temporal exists; adapters live in activities/.`)],
    ),
  ),

  restrict(
    ['activities/**/*.ts'],
    [
      ...folders('activities', {
        workflows: 'workflows/ sit above activities (workflows → activities).',
        client: 'client/ sits above (client → workflows → activities).',
        cli: 'cli/ sits at the top of the stack.',
        http: 'http/ sits at the top of the stack.',
        workers: 'workers/ register activities; activities do not know how they are hosted.',
      }),
      ...shipped('activities'),
    ],
  ),

  restrict(
    ['client/**/*.ts'],
    [
      ...folders('client', {
        cli: 'cli/ is a thin face over the client, not the other way round.',
        http: 'http/ is a thin face over the client, not the other way round.',
        workers: 'the client talks to a Temporal cluster; it does not host workers.',
        activities: 'the client starts workflows; activities run only inside workers.',
      }),
      ...shipped('client'),
    ],
  ),

  restrict(
    ['http/**/*.ts'],
    [
      ...folders('http', {
        cli: 'cli/ and http/ are sibling faces over the client.',
        workers: 'http/ is a face over the client; workers/ host it, not the other way round.',
      }),
      ...shipped('http'),
    ],
  ),

  restrict(
    ['cli/**/*.ts'],
    [
      ...folders('cli', {
        http: 'cli/ and http/ are sibling faces over the client (the serve command goes through workers/).',
      }),
      ...shipped('cli'),
    ],
  ),

  restrict(['workers/**/*.ts'], shipped('workers')),
];

export default defineConfig(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'bench/results/',
      '.lightpath/',
      // Standalone plain-JavaScript predictor written next to exported models (browser or Node); not part of the package build.
      'cli/export/*.mjs',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Unused names prefixed with `_` are deliberate (positional parameters, destructuring to omit a field).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read untyped JSON replies of the HTTP API; typing each reply would only restate the schema under test.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  layers,
);
