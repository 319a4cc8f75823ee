// Module resolution hooks for algorithm files loaded by `portus run` / `portus sim --alg FILE`
// (registered by src/algorithms/user-module.ts with node:module's register(), which passes `self`: the
// URLs of this package's entry points). Plain JavaScript: hooks run on Node's loader thread.
//
// 1. `import ... from 'portus'` (or 'portus/testing', 'portus/wire') in a file outside any
//    project that has portus installed resolves to this package, so a lone `my-alg.ts` works
//    anywhere.
// 2. A `.ts`/`.mts` file outside node_modules is loaded as an ES module even when the nearest
//    package.json does not say "type": "module" (TypeScript algorithm files are written with
//    import/export; loading them as CommonJS would give them a second copy of this package).

/** @type {Record<string, string>} */
let self = {};

export function initialize(data) {
  self = data?.self ?? {};
}

export async function resolve(specifier, context, nextResolve) {
  let result;
  try {
    result = await nextResolve(specifier, context);
  } catch (e) {
    const target = self[specifier];
    if (target === undefined || e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    result = await nextResolve(target, context);
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
