/**
 * Built-in algorithms, selectable by name: aimd, const, reno, cubic, bbr, copa, vegas, nimbus,
 * dctcp.
 * @module
 */
import type { Algorithm } from '../agent/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import { aimd } from './aimd.ts';
import { constAlg } from './const.ts';
import { cubic } from './cubic.ts';
import { reno } from './reno.ts';
import { bbr } from './bbr.ts';
import { copa } from './copa.ts';
import { dctcp } from './dctcp.ts';
import { nimbus } from './nimbus.ts';
import { vegas } from './vegas.ts';
import { loadAlgorithmFile, looksLikePath } from './load.ts';
import type { Params } from './params.ts';

export { aimd } from './aimd.ts';
export { constAlg } from './const.ts';
export { reno, RenoFlow } from './reno.ts';
export { cubic, CubicFlow, CUBIC_PARAMS } from './cubic.ts';
export { HyStart, withHystart, hystartDelayThresh, HYSTART_MIN_SAMPLES } from './hystart.ts';
export {
  genericCongAvoid,
  gcaConfig,
  GCA_PARAMS,
  DEFAULT_SS_THRESH,
  type GcaAlgorithm,
  type GcaConfig,
  type GcaFlow,
  type Measurements,
} from './gca.ts';
export type { Params } from './params.ts';
export { loadAlgorithmFile, looksLikePath } from './load.ts';
export { bbr, BbrFlow, bbrConfig, BBR_PARAMS, type BbrConfig, type BbrMode } from './bbr.ts';
export { copa, CopaFlow, copaConfig, COPA_PARAMS, type CopaConfig, type CopaDeltaMode } from './copa.ts';
export { vegas, VegasFlow, vegasConfig, VEGAS_PARAMS, type VegasConfig } from './vegas.ts';
export {
  nimbus,
  NimbusFlow,
  nimbusConfig,
  elasticity,
  NIMBUS_PARAMS,
  type NimbusConfig,
  type NimbusHooks,
  type NimbusMode,
} from './nimbus.ts';
export { dctcp, DctcpFlow, dctcpConfig, DCTCP_PARAMS, type DctcpConfig } from './dctcp.ts';

const FACTORIES: Record<string, (p: Params) => Algorithm> = {
  aimd,
  const: constAlg,
  reno,
  cubic,
  bbr,
  copa,
  vegas,
  nimbus: (p) => nimbus(p),
  dctcp,
};

/** Names of the built-in algorithms. */
export function algorithmNames(): string[] {
  return Object.keys(FACTORIES);
}

/**
 * A built-in algorithm by name, configured with `params` (`--param k=v` values). Throws
 * `ALGORITHM` for an unknown name or parameter.
 */
export function getAlgorithm(name: string, params: Params = {}): Algorithm {
  const f = Object.hasOwn(FACTORIES, name) ? FACTORIES[name] : undefined;
  if (f === undefined) {
    throw new PortusError(
      ErrorCodes.ALGORITHM,
      `unknown algorithm '${name}' (built-in: ${algorithmNames().join(', ')}; or give a path to a .ts/.js file)`,
    );
  }
  return f(params);
}

/**
 * Resolve an algorithm argument: a built-in name, or a path to a `.ts`/`.js` file (see
 * {@link loadAlgorithmFile}), configured with `params`.
 */
export async function resolveAlgorithm(spec: string, params: Record<string, string>): Promise<Algorithm> {
  if (algorithmNames().includes(spec) && !looksLikePath(spec)) return getAlgorithm(spec, params);
  if (looksLikePath(spec)) return loadAlgorithmFile(spec, params);
  return getAlgorithm(spec, params); // unknown name: a clear error listing the built-ins
}
