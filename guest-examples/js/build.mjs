// Builds JavaScript guests into components with ComponentizeJS:
//
//     node build.mjs [--out DIR] GUEST.js...
//
// writes DIR/GUEST.wasm (DIR defaults to the current directory) for the
// world `command` of ../wit-cli: the eventfd interface imported, and
// `wasi:cli/run` exported. This calls ComponentizeJS's `componentize()`
// directly: `jco componentize` (jco 1.35.0, installed with it) fails on
// this WIT with "failed to get path metadata (os error 44)". package.json names @bytecodealliance/preview2-shim
// too: ComponentizeJS 0.23.0 imports it but declares it only as a
// development dependency, so `npm ci` would leave it out.
import { componentize } from '@bytecodealliance/componentize-js';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const witPath = resolve(here, '..', 'wit-cli');

function usage(message) {
  console.error(`build.mjs: ${message}\nusage: node build.mjs [--out DIR] GUEST.js...`);
  process.exit(2);
}

const args = process.argv.slice(2);
let outDir = process.cwd();
const sources = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') {
    if (i + 1 >= args.length) usage('--out needs a directory');
    outDir = resolve(args[++i]);
  } else if (args[i].startsWith('-')) {
    usage(`unknown option ${args[i]}`);
  } else {
    sources.push(resolve(args[i]));
  }
}
if (sources.length === 0) usage('no guest given');
for (const source of sources) {
  if (!source.endsWith('.js') || !existsSync(source)) usage(`no JavaScript file ${source}`);
}
await mkdir(outDir, { recursive: true });

for (const source of sources) {
  const out = join(outDir, basename(source, '.js') + '.wasm');
  // ComponentizeJS maps the source's folder into the engine by the path
  // relative to the working directory, so build from that folder.
  process.chdir(dirname(source));
  try {
    const { component } = await componentize({
      sourcePath: basename(source),
      witPath,
      worldName: 'command',
      // Console output, clocks and random stay; no HTTP.
      disableFeatures: ['http', 'fetch-event'],
    });
    await writeFile(out, component);
    console.log(`built ${out} (${(component.length / 1e6).toFixed(1)} MB)`);
  } catch (e) {
    console.error(`build.mjs: building ${source} failed:\n${e.message ?? e}`);
    process.exit(1);
  }
}
