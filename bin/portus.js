#!/usr/bin/env node
// Entry point of the `portus` command. TypeScript sources are loaded through tsx, so neither the
// project nor a user's own algorithm file (`portus run ./my-alg.ts`) needs a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
