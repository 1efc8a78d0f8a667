#!/usr/bin/env node
// The CLI's start-up build step, run by `npm run build` after tsc (bench/README.md has the
// figures behind it):
//
// 1. Bundle dist/cli/main.js and every module it reaches, lazily imported commands included,
//    into one script, dist/cli/bundle.js: one file to read and compile instead of ~30 ES
//    modules each resolved, loaded and linked. A command added to src/cli/registry.ts is in
//    the bundle with no extra step. The daemon is not in it.
// 2. Write V8's code cache for it, dist/cli/bundle.cache (scripts/cli-cache.mjs), so that
//    bin/berth deserializes compiled code instead of compiling the script. V8 checks the
//    cache against its version, its flags and the script, and ignores it when they differ
//    (another node, a rebuild without this step): berth then compiles as usual, only slower.
//
// bundle.js is a function expression `(function (exports, require, module, __filename,
// __dirname) {...})`, the CommonJS wrapper, so bin/berth runs it with vm.Script (the only way
// to hand V8 a code cache on Node 20) and no string concatenation. It is not meant to be
// imported.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(ROOT, 'dist', 'cli', 'main.js');
const BUNDLE = join(ROOT, 'dist', 'cli', 'bundle.js');
const CACHE = join(ROOT, 'dist', 'cli', 'bundle.cache');
const DAEMON_BUNDLE = join(ROOT, 'dist', 'daemon', 'bundle.js');
const UNPACK_BUNDLE = join(ROOT, 'dist', 'daemon', 'unpack-main.js');

rmSync(CACHE, { force: true });
await build({
  entryPoints: [ENTRY],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // import() of node's modules becomes require(): a vm.Script has no import() of its own
  // (src/cli/paths.ts imports the daemon through bin/berth).
  supported: { 'dynamic-import': false },
  // import.meta.url of the bundle is its own file URL: src/cli/paths.ts resolves the files
  // berth needs from there, and the bundle sits in dist/cli/ as paths.js does.
  define: { 'import.meta.url': '__berth_bundle_url' },
  banner: {
    js: '(function (exports, require, module, __filename, __dirname) {\n"use strict";\nconst __berth_bundle_url = require("node:url").pathToFileURL(__filename).href;',
  },
  footer: { js: '})' },
  legalComments: 'none',
  logLevel: 'warning',
});

/** One ES module of `entry` and all it reaches (node_modules included), without comments or indentation. */
const esmBundle = (entry, outfile) =>
  build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minifyWhitespace: true,
    minifySyntax: true,
    // Error classes and stack traces read as in the sources.
    keepNames: true,
    // CommonJS packages in it get a real `require`.
    banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
    legalComments: 'none',
    logLevel: 'warning',
  });

// The daemon: dist/daemon/entry.js in one ES module, dist/daemon/bundle.js, which bin/berth
// imports for `berth daemon`. One module instead of ~140 and no comments or indentation in
// the source V8 keeps for the daemon's whole life: 1–2 MiB less idle RSS (bench/README.md).
await esmBundle(join(ROOT, 'dist', 'daemon', 'entry.js'), DAEMON_BUNDLE);

// The unpack process (src/engine/layers/unpack-process.ts): dist/engine/layers/unpack-main.js
// in one ES module beside the daemon's bundle, where the bundled daemon looks for it
// (`new URL('./unpack-main.js', import.meta.url)`): one file to load instead of ~20.
await esmBundle(join(ROOT, 'dist', 'engine', 'layers', 'unpack-main.js'), UNPACK_BUNDLE);

// The code cache comes from a separate node started with no V8 flags, as bin/berth starts
// the CLI: V8 rejects a cache made under other flags (`--max-semi-space-size` included).
const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'cli-cache.mjs'), BUNDLE, CACHE], { stdio: 'inherit' });
const size = (f) => `${Math.round(readFileSync(f).length / 1024)} KiB`;
if (r.status !== 0 || !existsSync(CACHE)) {
  process.stderr.write(`build-cli: writing the code cache failed (${r.status ?? r.signal}); berth works without it, only starts slower\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`build-cli: ${size(BUNDLE)} bundle, ${size(CACHE)} code cache; daemon ${size(DAEMON_BUNDLE)} bundle, unpack process ${size(UNPACK_BUNDLE)}\n`);
}
