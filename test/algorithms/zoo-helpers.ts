// Helpers for the signature tests of the algorithm zoo: run a scenario in the simulator
// (deterministic, simulated time) and read its time series.
import type { Algorithm } from '../../src/agent/index.ts';
import { resolveScenario, runSimulation, type Scenario, type SimResult } from '../../src/sim/index.ts';

/**
 * The network model these signature tests were calibrated on: no access link, an ACK per packet,
 * 1500-byte payloads, loss before the queue (the simulator's fidelity knobs, docs/sim.md, turned
 * off). With the knobs' defaults Vegas takes a few slow-start drops and Nimbus's mode switch moves;
 * re-tuning these signatures to the defaults is left to the zoo's owners. A scenario's own values win.
 */
const CALIBRATED: Partial<Scenario> = {
  access: 'none',
  delayedAck: 'off',
  headers: 0,
  lossPlacement: 'before-queue',
};

/** Run `sc` with the built-ins (or the given algorithm objects). */
export function simulate(sc: Scenario, algorithms?: readonly Algorithm[]): Promise<SimResult> {
  return runSimulation(resolveScenario({ ...CALIBRATED, ...sc }), algorithms ? { algorithms } : {});
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
