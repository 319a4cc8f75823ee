#!/usr/bin/env node
// Entry point of the `portus` command. It runs the compiled JavaScript in dist/ (built by
// `npm run build`, which `npm install` runs through `prepare`); a user's TypeScript algorithm file
// gets its loader later, only when one is imported (src/cli/user-module.ts).
//
// From the sources instead, through tsx, when
//  - dist/ is missing (a checkout that has not been built), or
//  - the process resolves this package with the `portus-source` condition
//    (NODE_OPTIONS=--conditions=portus-source, as `npm test` sets), so tests never run a stale dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/cli/main.js', import.meta.url);
let entry = dist.href;
if (!existsSync(fileURLToPath(dist)) || import.meta.resolve('portus').endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/cli/main.ts', import.meta.url).href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
