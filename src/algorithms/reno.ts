/**
 * Reno on generic-cong-avoid (spec algorithms.md §2.5): per report cwnd += MSS·acked/cwnd; on a
 * reduction halve, floored at the initial window.
 * @module
 */
import type { Algorithm } from '../agent/index.ts';
import { gcaConfig, genericCongAvoid, type GcaFlow, type Measurements } from './gca.ts';
import type { Params } from './params.ts';

/** Reno's per-flow state (exported for tests). */
export class RenoFlow implements GcaFlow {
  private cwnd: number;
  constructor(
    private readonly initCwnd: number,
    private readonly mss: number,
  ) {
    this.cwnd = initCwnd;
  }
  currCwnd(): number {
    return Math.floor(this.cwnd);
  }
  setCwnd(bytes: number): void {
    this.cwnd = bytes;
  }
  increase(m: Measurements): void {
    this.cwnd += this.mss * (m.acked / this.cwnd);
  }
  reduction(): void {
    this.cwnd /= 2;
    if (this.cwnd <= this.initCwnd) this.cwnd = this.initCwnd;
  }
  reset(): void {}
}

/** Reno. Parameters: those of generic-cong-avoid (`GCA_PARAMS`). */
export function reno(params: Params = {}): Algorithm {
  return genericCongAvoid(
    { name: 'reno', newFlow: (init, mss) => new RenoFlow(init, mss) },
    gcaConfig('reno', params),
  );
}
