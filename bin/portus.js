#!/usr/bin/env node
// Entry point of the `portus` command. TypeScript sources are loaded through tsx, so neither the
// project nor a user's own algorithm file (`portus run ./my-alg.ts`) needs a build step.
import { register } from 'tsx/esm/api';
import { register as registerHooks } from 'node:module';

// tsx's ESM loader, then our resolution hooks (src/cli/module-hooks.mjs): algorithm files load as
// ES modules wherever they live, and can import 'portus' even where it is not installed.
register();
registerHooks('../src/cli/module-hooks.mjs', import.meta.url);
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
