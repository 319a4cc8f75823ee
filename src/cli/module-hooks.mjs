// Module resolution hooks for algorithm files loaded by `portus run` / `portus sim --alg FILE`
// (registered by bin/portus.js with node:module's register()). Plain JavaScript: hooks run on
// Node's loader thread, before any TypeScript loader is involved.
//
// 1. `import ... from 'portus'` (or 'portus/testing') in a file outside any project that has
//    portus installed resolves to this package, so a lone `my-alg.ts` works anywhere.
// 2. A `.ts`/`.mts` file outside node_modules is loaded as an ES module even when the nearest
//    package.json does not say "type": "module" (TypeScript algorithm files are written with
//    import/export; loading them as CommonJS would give them a second copy of this package).

const ROOT = new URL('../../', import.meta.url);
const SELF = { portus: 'src/index.ts', 'portus/testing': 'src/testing/index.ts' };

export async function resolve(specifier, context, nextResolve) {
  let result;
  try {
    result = await nextResolve(specifier, context);
  } catch (e) {
    const target = SELF[specifier];
    if (target === undefined || e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    result = await nextResolve(new URL(target, ROOT).href, context);
  }
  if (
    result.url.startsWith('file:') &&
    /\.m?ts$/.test(result.url) &&
    !result.url.includes('/node_modules/') &&
    result.format !== 'module'
  ) {
    return { ...result, format: 'module' };
  }
  return result;
}
