#!/usr/bin/env bash
# Scaffold a package: scripts/new-package.sh @shears/name packages/name [entry...]
# Writes package.json (exports map, sideEffects false, files dist), tsup/vitest/tsconfig.
set -euo pipefail
name=$1 dir=$2; shift 2
entries=("${@:-index}")
mkdir -p "$dir/src"
node - "$name" "$dir" "${entries[@]}" <<'JS'
const fs = require('fs');
const [name, dir, ...entries] = process.argv.slice(2);
const exp = {};
for (const e of entries) {
  const key = e === 'index' ? '.' : './' + e;
  exp[key] = { import: { types: `./dist/${e}.d.ts`, default: `./dist/${e}.js` }, require: { types: `./dist/${e}.d.cts`, default: `./dist/${e}.cjs` } };
}
const pkg = {
  name, version: '0.1.0', description: '', license: 'Apache-2.0', type: 'module',
  sideEffects: false, files: ['dist'], engines: { node: '>=20.19' },
  main: './dist/index.cjs', module: './dist/index.js', types: './dist/index.d.ts',
  exports: exp,
  scripts: { build: 'tsup', test: 'vitest run', typecheck: 'tsc --noEmit -p .', lint: 'publint --strict' },
  dependencies: { '@shears/core': 'workspace:*' },
  devDependencies: { '@shears/tsconfig': 'workspace:*', '@shears/vitest-config': 'workspace:*' },
};
if (name === '@shears/core') delete pkg.dependencies['@shears/core'];
const w = (f, s) => fs.existsSync(`${dir}/${f}`) || fs.writeFileSync(`${dir}/${f}`, s);
w('package.json', JSON.stringify(pkg, null, 2) + '\n');
w('tsup.config.ts', `import { defineConfig } from 'tsup';\n\nexport default defineConfig({\n  entry: ${JSON.stringify(entries.map((e) => 'src/' + e + '.ts'))},\n  format: ['esm', 'cjs'],\n  dts: true,\n  clean: true,\n  sourcemap: true,\n  target: 'node20',\n});\n`);
w('tsconfig.json', JSON.stringify({ extends: '@shears/tsconfig/base.json', include: ['src', 'test', '*.ts'] }, null, 2) + '\n');
w('vitest.config.ts', `import { defineConfig } from 'vitest/config';\nimport shared from '@shears/vitest-config';\n\nexport default defineConfig(shared);\n`);
for (const e of entries) w(`src/${e}.ts`, 'export {};\n');
JS
