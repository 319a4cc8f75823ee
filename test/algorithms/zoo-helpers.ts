// Helpers for the signature tests of the algorithm zoo: run a scenario in the simulator
// (deterministic, simulated time) and read its time series.
import type { Algorithm } from '../../src/agent/index.ts';
import { resolveScenario, runSimulation, type Scenario, type SimResult } from '../../src/sim/index.ts';

/** Run `sc` with the built-ins (or the given algorithm objects). */
export function simulate(sc: Scenario, algorithms?: readonly Algorithm[]): Promise<SimResult> {
  return runSimulation(resolveScenario(sc), algorithms ? { algorithms } : {});
}

/** Samples of a series between times `from` and `to` (s). */
export function window(r: SimResult, xs: Float64Array, from: number, to = Infinity): number[] {
  const s = r.series;
  const out: number[] = [];
  for (let k = 0; k < s.length; k++) if (s.t[k]! > from && s.t[k]! <= to) out.push(xs[k]!);
  return out;
}

/** Mean of finite values. */
export function mean(xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** Mean queue occupancy in packets of `pkt` bytes over [from, to] s. */
export function meanQueuePkts(r: SimResult, from: number, to = Infinity, pkt = 1500): number {
  return mean(window(r, r.series.queueBytes, from, to)) / pkt;
}
