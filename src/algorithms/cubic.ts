/**
 * Cubic on generic-cong-avoid (spec algorithms.md §2.6): window in packets, C = 0.4, β = 0.3
 * (multiplicative factor 0.7), fast convergence and TCP friendliness on. HyStart (delay increase
 * only) is opt-in with `hystart=true`; off, as the spec's reference, by default. The elapsed
 * time is `now + d_min − epoch_start`, as Linux and the paper-era code (the spec's choice).
 * @module
 */
import type { Algorithm } from '../agent/index.ts';
import { gcaConfig, genericCongAvoid, type GcaFlow, type Measurements } from './gca.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import { boolParam, type Params } from './params.ts';

const C = 0.4;
const BETA = 0.3;

/** Cubic's per-flow state (exported for tests). Times in seconds. */
export class CubicFlow implements GcaFlow {
  private readonly mss: number;
  /** Initial window in packets. */
  private readonly initPkts: number;
  private readonly now: () => number;
  cwnd: number;
  cwndCnt = 0;
  wLastMax = 0;
  epochStart: number | null = null;
  originPoint = 0;
  dMin: number | null = null;
  wTcp = 0;
  k = 0;
  ackCnt = 0;
  cnt = 0;

  /** `now()` in µs. */
  constructor(initCwnd: number, mss: number, now: () => number) {
    this.mss = mss;
    this.initPkts = Math.floor(initCwnd / mss);
    this.cwnd = this.initPkts;
    this.now = now;
  }

  currCwnd(): number {
    return Math.floor(this.cwnd * this.mss);
  }
  setCwnd(bytes: number): void {
    this.cwnd = bytes / this.mss;
  }

  increase(m: Measurements): void {
    const rtt = m.rtt * 1e-6;
    const acks = Math.floor(m.acked / this.mss);
    const t0 = this.now() * 1e-6; // every packet of one report uses the time the report is handled
    for (let i = 0; i < acks; i++) {
      if (this.dMin === null || rtt < this.dMin) this.dMin = rtt;
      this.update(t0);
      if (this.cwndCnt > this.cnt) {
        this.cwnd += 1;
        this.cwndCnt = 0;
      } else {
        this.cwndCnt += 1;
      }
    }
  }

  private update(now: number): void {
    this.ackCnt += 1;
    if (this.epochStart === null) {
      this.epochStart = now;
      if (this.cwnd < this.wLastMax) {
        this.k = Math.cbrt(Math.max(0, (this.wLastMax - this.cwnd) / C));
        this.originPoint = this.wLastMax;
      } else {
        this.k = 0;
        this.originPoint = this.cwnd;
      }
      this.ackCnt = 1;
      this.wTcp = this.cwnd;
    }
    const t = now + (this.dMin ?? 0.1) - this.epochStart;
    const target = this.originPoint + C * (t - this.k) ** 3;
    this.cnt = target > this.cwnd ? this.cwnd / (target - this.cwnd) : 100 * this.cwnd;
    // TCP friendliness
    this.wTcp += ((3 * BETA) / (2 - BETA)) * (this.ackCnt / this.cwnd);
    this.ackCnt = 0;
    if (this.wTcp > this.cwnd) {
      const maxCnt = this.cwnd / (this.wTcp - this.cwnd);
      if (this.cnt > maxCnt) this.cnt = maxCnt;
    }
  }

  reduction(): void {
    this.epochStart = null;
    if (this.cwnd < this.wLastMax) this.wLastMax = (this.cwnd * (2 - BETA)) / 2;
    else this.wLastMax = this.cwnd;
    this.cwnd *= 1 - BETA;
    if (Math.floor(this.cwnd) <= this.initPkts) this.cwnd = this.initPkts;
  }

  reset(): void {
    this.wLastMax = 0;
    this.epochStart = null;
    this.originPoint = 0;
    this.dMin = null;
    this.wTcp = 0;
    this.k = 0;
    this.ackCnt = 0;
  }
}

/** Cubic's own parameter names, beside generic-cong-avoid's (`GCA_PARAMS`). */
export const CUBIC_PARAMS = ['hystart'] as const;

/**
 * Cubic. Parameters: those of generic-cong-avoid (`GCA_PARAMS`) and `hystart` (true: leave slow
 * start on HyStart's delay increase, as Linux's Cubic does by default; default false).
 */
export function cubic(params: Params = {}): Algorithm {
  const { hystart, ...gca } = params;
  const cfg = gcaConfig('cubic', gca, CUBIC_PARAMS);
  if (hystart !== undefined) cfg.hystart = boolParam('cubic', params, 'hystart');
  if (cfg.hystart === true && cfg.ssInFold) {
    // ss_in_fold slow-starts in the datapath with no report before the first loss.
    throw new PortusError(ErrorCodes.ALGORITHM, 'cubic: hystart and ss_in_fold exclude each other');
  }
  return genericCongAvoid({ name: 'cubic', newFlow: (init, mss, now) => new CubicFlow(init, mss, now) }, cfg);
}
