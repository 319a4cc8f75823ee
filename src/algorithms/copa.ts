/**
 * Copa, as ccp_copa (spec algorithms.md §4): the datapath reports about twice per base RTT; the
 * agent aggregates reports over half an srtt, compares the current rate with the target rate
 * 1/(δ·d_q) (d_q = RTT_standing − RTT_min) and moves cwnd by v/(δ·cwnd) packets per packet acked,
 * with a velocity v that doubles while the direction holds. A δ manager switches between the
 * default mode, a TCP-cooperative mode (AIMD on 1/δ) and a loss mode. Pacing at 2 × cwnd / RTT_min.
 * Defects of the original fixed here (spec §4.8, docs/algorithms.md): the RTT_min window really
 * expires (max(10 s, 30 × srtt)), an expired base RTT is pushed to the program under its real name
 * (`basertt`), the MSS is the datapath's, and the loss rate counts packets against packets; and (found
 * here) slow start ends at half the window, and TCP detection ignores Copa's own overshoot.
 * @module
 */
import type { Algorithm, DatapathHandle, DatapathInfo, Flow, Report } from '../agent/index.ts';
import { boolParam, checkParams, choiceParam, rangeParam, type Params } from './params.ts';

/** The program: folded per ACK, reported on loss/timeout, else every basertt/2. */
export const COPA_PROG = `(def
    (Report
        (volatile acked 0)
        (volatile sacked 0)
        (volatile loss 0)
        (volatile inflight 0)
        (volatile timeout false)
        (volatile rtt 0)
        (volatile now 0)
        (volatile minrtt +infinity)
    )
    (basertt +infinity)
)
(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.inflight Flow.packets_in_flight)
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Report.minrtt (min Report.minrtt Flow.rtt_sample_us))
    (:= basertt (min basertt Flow.rtt_sample_us))
    (:= Report.sacked (+ Report.sacked Ack.packets_misordered))
    (:= Report.loss Ack.lost_pkts_sample)
    (:= Report.timeout Flow.was_timeout)
    (:= Report.now Ack.now)
    (fallthrough)
)
(when (|| Report.timeout (> Report.loss 0))
    (report)
    (:= Micros 0)
)
(when (> Micros (/ basertt 2))
    (report)
    (:= Micros 0)
)`;

/** Copa's configuration (`--param` names in brackets). */
export interface CopaConfig {
  /** Default δ; the standing queue a lone flow keeps is about 1/δ packets [default_delta, 0.5]. */
  defaultDelta: number;
  /** Initial window in bytes; 0 = the datapath's [init_cwnd, default 0]. */
  initCwnd: number;
  /** δ mode: auto (the original's), or always default [mode, default auto]. */
  mode: 'auto' | 'default';
  /** Ignore the queue of Copa's own overshoot in TCP detection [self_drain_guard, default true]. */
  selfDrainGuard: boolean;
}

/** Parameter names `copa` accepts. */
export const COPA_PARAMS = ['default_delta', 'init_cwnd', 'mode', 'self_drain_guard'] as const;

/** Parse Copa parameters. */
export function copaConfig(params: Params): CopaConfig {
  checkParams('copa', params, COPA_PARAMS);
  return {
    defaultDelta: rangeParam('copa', params, 'default_delta', 0.5, 0, 1, true),
    initCwnd: rangeParam('copa', params, 'init_cwnd', 0, 0, 2 ** 32),
    mode: choiceParam('copa', params, 'mode', ['auto', 'default'] as const, 'auto'),
    selfDrainGuard:
      params.self_drain_guard === undefined ? true : boolParam('copa', params, 'self_drain_guard'),
  };
}

const NO_SAMPLE = 0xffffffff;

/** Which rule sets δ. */
export type CopaDeltaMode = 'default' | 'tcp' | 'loss';

/** Copa's per-flow state (exported for tests). Windows in bytes, times in µs. */
export class CopaFlow implements Flow {
  cwnd: number;
  delta: number;
  deltaMode: CopaDeltaMode = 'tcp';
  velocity = 1;
  slowStart = true;
  baseRtt = Infinity;
  srtt = 0;
  private readonly mss: number;
  private readonly initCwnd: number;
  /** Base RTT last written to the program's `basertt` (the program only lowers it itself). */
  private progBase = Infinity;
  // RTT samples (agent time, µs) of the min-RTT window and the TCP-detection window
  private readonly rttT: number[] = [];
  private readonly rttV: number[] = [];
  // aggregation of reports between processed ones
  private aggAcked = 0;
  private aggMinRtt = Infinity;
  private lastProcessed = -Infinity;
  // direction / velocity
  private curCount = 0;
  private prevCount = 0;
  private lastDir = 0;
  private dirSince = 0;
  private periodStart = 0;
  private dirSamples = 0;
  // δ manager
  private cycleStart = 0;
  private cycleLoss = 0;
  private cycleAcked = 0;
  private prevLossRate = 0;
  private lastLossDelta = -Infinity;
  /** Agent time of the last report at which Copa was draining its own overshoot. */
  private lastSelfDrain = -Infinity;

  constructor(
    private readonly dp: DatapathHandle,
    info: DatapathInfo,
    private readonly cfg: CopaConfig,
  ) {
    this.mss = info.mss;
    this.initCwnd = cfg.initCwnd > 0 ? cfg.initCwnd : info.initCwnd;
    this.cwnd = this.initCwnd;
    this.delta = cfg.defaultDelta;
    this.deltaMode = cfg.mode === 'default' ? 'default' : 'tcp';
    dp.setProgram('copa', { Cwnd: this.cwnd });
  }

  onReport(r: Report): void {
    const now = this.dp.now();
    if (r.rtt > 0 && r.rtt < NO_SAMPLE)
      this.srtt = this.srtt === 0 ? r.rtt : this.srtt + (r.rtt - this.srtt) / 16;
    if (r.minrtt > 0 && r.minrtt < NO_SAMPLE) {
      this.rttT.push(now);
      this.rttV.push(r.minrtt);
      if (r.minrtt < this.aggMinRtt) this.aggMinRtt = r.minrtt;
    }
    this.updateBaseRtt(now);
    this.aggAcked += r.acked;
    const lossPkts = r.loss;
    this.deltaCycle(now, lossPkts, r.acked);
    if (r.timeout === 1) {
      this.cwnd = this.initCwnd;
      this.slowStart = true;
      this.velocity = 1;
      this.resetAggregate(now);
      this.actuate();
      return;
    }
    if (lossPkts > 0) this.onLoss(now);
    else if (this.deltaMode === 'tcp') this.delta = Math.min(this.cfg.defaultDelta, 1 / (1 / this.delta + 1));
    const urgent = lossPkts > 0;
    if (!urgent && now - this.lastProcessed < 0.5 * this.srtt) {
      this.actuate(); // swallowed, but Cwnd and Rate are re-sent (as the original)
      return;
    }
    if (this.aggMinRtt < NO_SAMPLE && Number.isFinite(this.aggMinRtt) && Number.isFinite(this.baseRtt)) {
      this.delayControl(now, this.aggMinRtt, Math.min(this.aggAcked, this.cwnd));
    }
    this.resetAggregate(now);
    this.actuate();
  }

  private resetAggregate(now: number): void {
    this.aggAcked = 0;
    this.aggMinRtt = Infinity;
    this.lastProcessed = now;
  }

  /** Copa's window update for one processed report (§4.4). */
  private delayControl(now: number, rtt: number, acked: number): void {
    const mss = this.mss;
    const dq = rtt - this.baseRtt;
    const increase = rtt * mss > dq * this.delta * this.cwnd;
    const dir = increase ? 1 : -1;
    this.dirSamples++;
    if (dir !== this.lastDir) {
      this.lastDir = dir;
      this.dirSince = now;
    }
    const prevSign = Math.sign(this.prevCount);
    if (this.velocity > 1 && prevSign !== 0 && dir !== prevSign) this.velocity = 1;
    if (!increase && (this.velocity > 1 || this.slowStart)) this.lastSelfDrain = now;
    this.curCount += dir;
    if (!this.slowStart && now - this.periodStart >= 2 * rtt) {
      if (prevSign !== 0 && prevSign === Math.sign(this.curCount) && now - this.dirSince > 3 * rtt) {
        this.velocity = Math.min(this.velocity * 2, 65535);
      } else {
        this.velocity = 1;
      }
      this.prevCount = this.curCount;
      this.curCount = 0;
      this.periodStart = now;
    }
    if (this.slowStart) {
      if (increase) {
        this.cwnd += acked;
        return;
      }
      // Departure: the queue signal lags slow start by one RTT, in which the window doubled;
      // leave slow start at half the window (the original kept the overshoot, more than a 1-BDP
      // drop-tail buffer holds: docs/algorithms.md).
      this.slowStart = false;
      this.periodStart = now;
      this.cwnd = Math.max(this.initCwnd, this.cwnd / 2);
      return;
    }
    const v = dir === Math.sign(this.prevCount) ? this.velocity : 1;
    const d = !increase && this.deltaMode === 'tcp' ? 1 / (1 + 1 / this.delta) : this.delta;
    const change = (v * mss * acked) / (this.cwnd * d);
    if (increase) {
      this.cwnd += change;
    } else {
      this.cwnd -= change;
      if (this.cwnd < this.initCwnd) {
        this.cwnd = this.initCwnd;
        this.velocity = 1;
      }
    }
  }

  /** RTT_min over max(10 s, 30 × srtt); an expired minimum is pushed to the program's basertt. */
  private updateBaseRtt(now: number): void {
    const horizon = now - Math.max(10e6, 30 * this.srtt);
    let drop = 0;
    while (drop < this.rttT.length - 1 && this.rttT[drop]! < horizon) drop++;
    if (drop > 0) {
      this.rttT.splice(0, drop);
      this.rttV.splice(0, drop);
    }
    let m = Infinity;
    for (const v of this.rttV) if (v < m) m = v;
    if (!Number.isFinite(m)) return;
    this.baseRtt = m;
    if (m < this.progBase)
      this.progBase = m; // the program lowers its own
    else if (m > this.progBase) {
      this.progBase = m;
      this.dp.updateField('basertt', Math.floor(m));
    }
  }

  /** δ manager bookkeeping: loss rate per cycle of 2 × base RTT, mode choice (§4.5). */
  private deltaCycle(now: number, loss: number, acked: number): void {
    this.cycleLoss += loss;
    this.cycleAcked += acked / this.mss;
    if (Number.isFinite(this.baseRtt) && now - this.cycleStart >= 2 * this.baseRtt) {
      const tot = this.cycleLoss + this.cycleAcked;
      this.prevLossRate = tot > 0 ? this.cycleLoss / tot : 0;
      this.cycleLoss = 0;
      this.cycleAcked = 0;
      this.cycleStart = now;
    }
    if (this.cfg.mode === 'default') return;
    let mode: CopaDeltaMode;
    if (this.prevLossRate >= 0.1) mode = 'loss';
    else if (this.dirSamples < 10 || this.tcpDetected(now)) mode = 'tcp';
    else mode = 'default';
    if (mode === 'default') this.delta = this.cfg.defaultDelta;
    this.deltaMode = mode;
  }

  private onLoss(now: number): void {
    if (this.deltaMode === 'loss') {
      this.delta = Math.min(this.delta * 2, this.cfg.defaultDelta);
    } else if (this.deltaMode === 'tcp' && now - this.lastLossDelta > this.baseRtt) {
      this.delta = Math.min(this.delta * 2, this.cfg.defaultDelta);
      this.lastLossDelta = now;
    }
  }

  /** The queue never drained over the last 10 srtt: min RTT there above base + (max − base)/10 + 100 µs. */
  private tcpDetected(now: number): boolean {
    const from = now - 10 * this.srtt;
    // Departure: a queue Copa is still draining after its own overshoot (slow-start exit, or a
    // decrease at velocity > 1) is not a competitor's; the original counted it, and its
    // TCP-mode δ' then cut several times too deep (docs/algorithms.md).
    if (this.cfg.selfDrainGuard && this.lastSelfDrain > from) return false;
    let lo = Infinity;
    let hi = 0;
    for (let i = this.rttT.length - 1; i >= 0 && this.rttT[i]! >= from; i--) {
      const v = this.rttV[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!Number.isFinite(lo)) return false;
    return lo > this.baseRtt + (hi - this.baseRtt) / 10 + 100;
  }

  private actuate(): void {
    const cwnd = Math.floor(this.cwnd);
    const base = Number.isFinite(this.baseRtt) ? this.baseRtt : 0;
    const rate = base > 0 ? Math.max((2 * this.cwnd * 1e6) / base, 2000) : 0;
    if (rate > 0) this.dp.updateFields({ Cwnd: cwnd, Rate: Math.floor(rate) });
    else this.dp.updateField('Cwnd', cwnd);
  }
}

/**
 * Copa (NSDI'18, ccp_copa). Parameters: `default_delta` (in (0, 1], default 0.5), `init_cwnd`
 * (bytes, 0 = the datapath's), `mode` (`auto` or `default`).
 */
export function copa(params: Params = {}): Algorithm {
  const cfg = copaConfig(params);
  return {
    name: 'copa',
    datapathPrograms: () => ({ copa: COPA_PROG }),
    newFlow: (dp: DatapathHandle, info: DatapathInfo): Flow => new CopaFlow(dp, info, cfg),
  };
}
