/**
 * Loading an algorithm from a `.ts`/`.js` file (`portus run ./alg.ts`, `portus sim --alg FILE`,
 * sweep cells): the TypeScript loader is registered on the first such file only
 * (user-module.ts).
 * @module
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { classicAlgorithm, isAlgClass, type AlgClass, type Algorithm } from '../agent/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import { importUserModule } from './user-module.ts';

/** True when an algorithm argument names a file rather than a built-in. */
export function looksLikePath(s: string): boolean {
  return s.includes('/') || /\.(m?[jt]s|cjs|cts)$/.test(s);
}

function isAlgorithmObject(x: unknown): x is Algorithm {
  const o = x as Partial<Algorithm> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.name === 'string' &&
    typeof o.newFlow === 'function' &&
    typeof o.datapathPrograms === 'function'
  );
}

/** Turn one export into an Algorithm, or null if it is not one. */
function fromExport(x: unknown, params: Record<string, string>): Algorithm | null {
  if (isAlgClass(x)) return classicAlgorithm(x as AlgClass, params);
  if (isAlgorithmObject(x)) return x;
  if (typeof x === 'function') {
    const fn = x as (...a: unknown[]) => unknown;
    const isClass = /^class[\s{]/.test(Function.prototype.toString.call(fn));
    if (isClass && typeof (fn.prototype as Partial<Algorithm>)?.newFlow === 'function') {
      const inst = new (fn as unknown as new (p: Record<string, string>) => unknown)(params);
      return isAlgorithmObject(inst) ? inst : null;
    }
  }
  return null;
}

/**
 * Load an algorithm from a `.ts`/`.js` file: its default export or its only algorithm-like named
 * export — an AlgBase subclass (classic), an Algorithm object, or a class implementing Algorithm
 * (constructed with the params).
 */
export async function loadAlgorithmFile(file: string, params: Record<string, string>): Promise<Algorithm> {
  const url = pathToFileURL(resolve(file)).href;
  let mod: Record<string, unknown>;
  try {
    mod = await importUserModule(url);
  } catch (e) {
    throw new PortusError(ErrorCodes.ALGORITHM, `cannot load ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (mod.default !== undefined) {
    const a = fromExport(mod.default, params);
    if (a) return a;
  }
  const found: [string, Algorithm][] = [];
  for (const [k, v] of Object.entries(mod)) {
    if (k === 'default') continue;
    const a = fromExport(v, params);
    if (a) found.push([k, a]);
  }
  if (found.length === 1) return found[0][1];
  if (found.length === 0) {
    throw new PortusError(
      ErrorCodes.ALGORITHM,
      `${file} exports no algorithm (export an AlgBase subclass or an object with name, datapathPrograms and newFlow)`,
    );
  }
  throw new PortusError(
    ErrorCodes.ALGORITHM,
    `${file} exports several algorithms (${found.map(([k]) => k).join(', ')}); export the one to run as default`,
  );
}
