/**
 * Loading a user's algorithm file (`portus run ./my-alg.ts`, `portus sim --alg FILE`). The CLI
 * itself runs compiled JavaScript; the TypeScript loader (tsx) and our resolution hooks
 * (module-hooks.mjs) are registered here, on the first user file only, so that commands which
 * load no user file (`--help`, `compile`, built-in algorithms) never pay for them.
 * @module
 */
import { register } from 'node:module';

/** Whether this module itself runs from the TypeScript sources (a TypeScript loader is active). */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const EXT = FROM_SOURCE ? '.ts' : '.js';

/** Where the hooks resolve `portus` imports of files that have no portus installed next to them. */
const SELF: Record<string, string> = {
  portus: new URL(`../index${EXT}`, import.meta.url).href,
  'portus/testing': new URL(`../testing/index${EXT}`, import.meta.url).href,
  'portus/wire': new URL(`../wire/index${EXT}`, import.meta.url).href,
};

let tsLoader: Promise<void> | null = null;
let hooks = false;

function registerHooks(): void {
  register('./module-hooks.mjs', import.meta.url, { data: { self: SELF } });
  hooks = true;
}

async function registerTypeScript(): Promise<void> {
  if (!FROM_SOURCE) {
    const tsx = await import('tsx/esm/api');
    tsx.register();
  }
  // Hooks registered later run first: ours must see every resolution before the TypeScript loader.
  registerHooks();
}

/** True for the file names that need the TypeScript loader. */
export function isTypeScriptFile(path: string): boolean {
  return /\.[cm]?ts$/.test(path);
}

/**
 * Import a user's module by file URL: registers the TypeScript loader first when the file is
 * TypeScript, and always the hooks that let it `import ... from 'portus'` from any folder.
 */
export async function importUserModule(url: string): Promise<Record<string, unknown>> {
  if (isTypeScriptFile(url)) {
    tsLoader ??= registerTypeScript();
    await tsLoader;
  } else if (!hooks) {
    registerHooks();
  }
  return (await import(url)) as Record<string, unknown>;
}
