/**
 * Nimbus, as ccp-project/nimbus (spec algorithms.md §6): a rate-based sender that pulses its rate
 * (an asymmetric sinusoid at 5 Hz in TCP-competitive mode, 6 Hz in delay mode), estimates the cross
 * traffic z = û·rin/rout − rin, and measures how strongly z answers the pulses (elasticity η, the
 * spectral peak of z at the pulse frequency over the largest peak in (f_p, 2 f_p)). Elastic cross
 * traffic (η > 2.25) means TCP-competitive mode (MulTCP: a number of emulated Reno flows);
 * inelastic (η < 2.0) means delay mode (Nimbus's delay rule). Reports every 5 ms.
 * @module
 */
import type { Algorithm, DatapathHandle, DatapathInfo, Flow, Report } from '../agent/index.ts';
import { CubicFlow } from './cubic.ts';
import { boolParam, checkParams, choiceParam, rangeParam, type Params } from './params.ts';

/** The program: acked bytes, the latest RTT, send and receive rates, losses; every 5 ms. */
export const NIMBUS_PROG = `(def
    (Report
        (volatile acked 0)
        (volatile rtt 0)
        (volatile loss 0)
        (volatile rin 0)
        (volatile rout 0)
        (volatile timeout false)
    )
    (reportTime 5000)
)
(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Report.rin Flow.rate_outgoing)
    (:= Report.rout Flow.rate_incoming)
    (:= Report.loss (+ Report.loss Ack.lost_pkts_sample))
    (:= Report.timeout Flow.was_timeout)
    (fallthrough)
)
(when (|| Report.timeout (> Report.loss 0))
    (report)
    (:= Micros 0)
)
(when (> Micros reportTime)
    (report)
    (:= Micros 0)
)`;

/** Nimbus's two modes. */
export type NimbusMode = 'xtcp' | 'delay';

/** Nimbus's configuration (`--param` names in brackets). */
export interface NimbusConfig {
  /** Switch modes on the elasticity estimate [use_switching, default false]. */
  useSwitching: boolean;
  /** Estimate the bottleneck rate from the receive rate instead of using `uest` [bw_est_mode]. */
  bwEstMode: boolean;
  /** EWMA (weight 0.2) on rin and rout [use_ewma, default false]. */
  useEwma: boolean;
  /** θ of the delay rule, a multiple of the base RTT [delay_threshold, default 1.25]. */
  delayThreshold: number;
  /** θ's resting value; above it θ decays by 0.05 per 100 ms [init_delay_threshold, 1.25]. */
  initDelayThreshold: number;
  /** Pulse amplitude as a fraction of û [pulse_size, default 0.25]. */
  pulseSize: number;
  /** Bottleneck rate estimate û, bytes/s [uest, default 12 000 000 = 96 Mbit/s]. */
  uest: number;
  /** Mode at start [flow_mode: XTCP or Delay, default XTCP]. */
  flowMode: NimbusMode;
  /** Delay rule [delay_mode: Nimbus, Copa or Vegas, default Nimbus]. */
  delayMode: 'Nimbus' | 'Copa' | 'Vegas';
  /** TCP-competitive rule [loss_mode: MulTCP or Cubic, default MulTCP]. */
  lossMode: 'MulTCP' | 'Cubic';
  /** Emulated Reno flows of MulTCP [xtcp_flows, default 2]. */
  xtcpFlows: number;
  /** Report interval of the datapath program, ms (≤ 10 keeps every z grid point fresh) [report_interval_ms, default 5]. */
  reportIntervalMs: number;
}

/** Parameter names `nimbus` accepts. */
export const NIMBUS_PARAMS = [
  'use_switching',
  'bw_est_mode',
  'use_ewma',
  'delay_threshold',
  'init_delay_threshold',
  'pulse_size',
  'uest',
  'flow_mode',
  'delay_mode',
  'loss_mode',
  'xtcp_flows',
  'report_interval_ms',
] as const;

/** Parse Nimbus parameters. */
export function nimbusConfig(params: Params): NimbusConfig {
  const a = 'nimbus';
  checkParams(a, params, NIMBUS_PARAMS);
  return {
    useSwitching: boolParam(a, params, 'use_switching'),
    bwEstMode: boolParam(a, params, 'bw_est_mode'),
    useEwma: boolParam(a, params, 'use_ewma'),
    delayThreshold: rangeParam(a, params, 'delay_threshold', 1.25, 1, 100),
    initDelayThreshold: rangeParam(a, params, 'init_delay_threshold', 1.25, 1, 100),
    pulseSize: rangeParam(a, params, 'pulse_size', 0.25, 0, 1),
    uest: rangeParam(a, params, 'uest', 12_000_000, 0, 1e12, true),
    flowMode:
      choiceParam(a, params, 'flow_mode', ['XTCP', 'Delay'] as const, 'XTCP') === 'XTCP' ? 'xtcp' : 'delay',
    delayMode: choiceParam(a, params, 'delay_mode', ['Nimbus', 'Copa', 'Vegas'] as const, 'Nimbus'),
    lossMode: choiceParam(a, params, 'loss_mode', ['MulTCP', 'Cubic'] as const, 'MulTCP'),
    xtcpFlows: Math.round(rangeParam(a, params, 'xtcp_flows', 2, 1, 64)),
    reportIntervalMs: rangeParam(a, params, 'report_interval_ms', 5, 0, 1000, true),
  };
}

/** Observers of a Nimbus flow (for tools and tests). */
export interface NimbusHooks {
  /** Called on every mode switch, with the agent time in µs and the elasticity that decided it. */
  onModeChange?(mode: NimbusMode, nowUs: number, elasticity: number): void;
  /** Called on every elasticity estimate (once per report that passed a 10 ms grid point, once detection runs). */
  onElasticity?(elasticity: number, nowUs: number): void;
}

const NO_SAMPLE = 0xffffffff;
/** z history: 512 samples on a 10 ms grid (5.12 s). */
const HIST = 512;
const GRID_US = 10_000;
const DETECT_FROM_US = 10e6;
const SWITCH_FROM_US = 15e6;
const ALPHA = 0.8;
const BETA = 0.5;

/** Nimbus's per-flow state (exported for tests). Rates in bytes/s, times in µs. */
export class NimbusFlow implements Flow {
  mode: NimbusMode;
  /** Smoothed elasticity estimate (0 before detection starts). */
  elasticity = 0;
  /** Base rate before the pulse is added. */
  rate = 0;
  theta: number;
  private readonly start: number;
  private readonly mss: number;
  private baseRtt = Infinity;
  private rtt = 0;
  private rin = 0;
  private rout = 0;
  private uHat: number;
  private routEwma = 0;
  private readonly z = new Float64Array(HIST);
  private zCount = 0;
  private nextGrid = 0;
  private lastSwitch = -Infinity;
  private lastThetaDecay = 0;
  // MulTCP
  private readonly vCwnd: number[];
  private readonly vSsthresh: number[];
  private readonly vLastDrop: number[];
  private rng: number;
  // Cubic XTCP rule
  private readonly cubic: CubicFlow;
  private lastCubicDrop = -Infinity;
  // Copa-like delay rule
  private copaCwnd = 0;
  private copaV = 1;
  private copaDir = 0;
  private copaDirSince = 0;

  constructor(
    private readonly dp: DatapathHandle,
    info: DatapathInfo,
    private readonly cfg: NimbusConfig,
    private readonly hooks: NimbusHooks = {},
  ) {
    this.mss = info.mss;
    this.start = dp.now();
    this.mode = cfg.flowMode;
    this.theta = cfg.delayThreshold;
    this.uHat = cfg.uest;
    const n = cfg.xtcpFlows;
    this.vCwnd = Array.from({ length: n }, () => Math.max(info.initCwnd / n, info.mss));
    this.vSsthresh = Array.from({ length: n }, () => Infinity);
    this.vLastDrop = Array.from({ length: n }, () => -Infinity);
    this.rng = (info.sockId * 2654435761 + 1) >>> 0 || 1;
    this.nextGrid = this.start + GRID_US;
    this.cubic = new CubicFlow(info.initCwnd, info.mss, () => dp.now());
    const reportTime = Math.max(1, Math.round(cfg.reportIntervalMs * 1000));
    // the program's own default is 5 ms: only a different interval is sent
    dp.setProgram(
      'nimbus_program',
      reportTime === 5000 ? { Cwnd: info.initCwnd } : { Cwnd: info.initCwnd, reportTime },
    );
  }

  onReport(r: Report): void {
    const now = this.dp.now();
    const t = now - this.start;
    if (r.rtt > 0 && r.rtt < NO_SAMPLE) {
      this.rtt = r.rtt;
      if (r.rtt < this.baseRtt) this.baseRtt = r.rtt;
    }
    if (this.rtt === 0) return;
    const w = this.cfg.useEwma ? 0.2 : 1;
    if (r.rin > 0 && r.rin < NO_SAMPLE) this.rin = this.rin === 0 ? r.rin : this.rin + w * (r.rin - this.rin);
    if (r.rout > 0 && r.rout < NO_SAMPLE)
      this.rout = this.rout === 0 ? r.rout : this.rout + w * (r.rout - this.rout);
    if (this.cfg.bwEstMode && this.rout > 0) {
      this.routEwma = this.routEwma === 0 ? this.rout : this.routEwma + 0.2 * (this.rout - this.routEwma);
      if (this.routEwma > this.uHat || this.uHat === this.cfg.uest) this.uHat = Math.max(this.routEwma, 1);
    }
    const zNow = this.rout > 0 ? Math.max(0, (this.uHat * this.rin) / this.rout - this.rin) : 0;
    if (now >= this.nextGrid) {
      // every grid point since the last report holds zNow; the detector runs once for all of
      // them (after a stall of seconds, once per point cost seconds of DFTs per report)
      const steps = Math.floor((now - this.nextGrid) / GRID_US) + 1;
      const fill = Math.min(steps, HIST);
      for (let i = steps - fill; i < steps; i++) this.z[(this.zCount + i) % HIST] = zNow;
      this.zCount += steps;
      this.nextGrid += steps * GRID_US;
      if (t >= DETECT_FROM_US && this.zCount >= HIST) this.detect(now, t, steps);
    }

    const drop = r.loss > 0 || r.timeout === 1;
    if (this.cfg.lossMode === 'Cubic') this.cubicXtcp(r.acked, drop, now);
    else this.multcp(r.acked, drop, now);
    if (this.theta > this.cfg.initDelayThreshold && now - this.lastThetaDecay >= 100_000) {
      this.theta = Math.max(this.cfg.initDelayThreshold, this.theta - 0.05);
      this.lastThetaDecay = now;
    }
    if (t < 1e6) {
      this.rate = 2_000_000;
    } else if (this.mode === 'xtcp') {
      const w = this.cfg.lossMode === 'Cubic' ? this.cubic.currCwnd() : this.vCwnd.reduce((a, b) => a + b, 0);
      this.rate = (w * 1e6) / this.rtt;
    } else {
      this.rate = this.delayRate(zNow, r.acked);
    }
    this.rate = Math.max(this.rate, 0.05 * this.uHat);
    const sent = t < 1e6 ? this.rate : Math.max(this.rate + this.pulse(t), 0.05 * this.uHat);
    const cwnd = Math.max(this.mss, (2 * sent * this.rtt) / 1e6);
    this.dp.updateFields({ Rate: Math.floor(sent), Cwnd: Math.floor(cwnd) });
  }

  /** The asymmetric pulse: +A·sin over the first quarter period, −A/3·sin over the rest. */
  private pulse(t: number): number {
    const f = this.mode === 'xtcp' ? 5 : 6;
    const period = 1e6 / f;
    const ph = t % period;
    const amp = this.cfg.pulseSize * this.uHat;
    if (ph < period / 4) return amp * Math.sin((Math.PI * ph) / (period / 4));
    return -(amp / 3) * Math.sin((Math.PI * (ph - period / 4)) / ((3 * period) / 4));
  }

  private delayRate(z: number, acked: number): number {
    if (this.cfg.delayMode === 'Copa') return this.copaRate(acked);
    if (this.cfg.delayMode === 'Vegas') {
      // grow or shrink by MSS·acked/cwnd-worth of rate against base + 150 ms (spec §6.5)
      const cwnd = Math.max((this.rate * this.rtt) / 1e6, this.mss);
      const step = (((this.mss * acked) / cwnd) * 1e6) / this.rtt;
      return this.rtt < this.baseRtt + 150_000 ? this.rate + step : this.rate - step;
    }
    const u = this.uHat;
    return (
      this.rin + ALPHA * (u - z - this.rin) - ((u * BETA) / this.rtt) * (this.rtt - this.theta * this.baseRtt)
    );
  }

  /**
   * Copa-like delay rule (spec §6.5): δ = 0.95 against the queueing delay above 1.2 × base RTT;
   * steps of v·MSS·acked/(0.5·cwnd); v doubles once per RTT while the direction holds (≤ 32);
   * window floor 15 000 bytes.
   */
  private copaRate(acked: number): number {
    const now = this.dp.now();
    if (this.copaCwnd === 0) this.copaCwnd = Math.max((this.rate * this.rtt) / 1e6, 15_000);
    const dq = Math.max(0, this.rtt - 1.2 * this.baseRtt);
    const dir = this.rtt * this.mss > dq * 0.95 * this.copaCwnd ? 1 : -1;
    if (dir !== this.copaDir) {
      this.copaDir = dir;
      this.copaDirSince = now;
      this.copaV = 1;
    } else if (now - this.copaDirSince > this.rtt) {
      this.copaV = Math.min(this.copaV * 2, 32);
      this.copaDirSince = now;
    }
    const step = (this.copaV * this.mss * acked) / (0.5 * this.copaCwnd);
    this.copaCwnd = Math.max(this.copaCwnd + dir * step, 15_000);
    return (this.copaCwnd * 1e6) / this.rtt;
  }

  /** Cubic XTCP rule: generic-cong-avoid's Cubic law (C = 0.4, β = 0.3); drops within one RTT of the last are ignored. */
  private cubicXtcp(acked: number, drop: boolean, now: number): void {
    if (acked > 0)
      this.cubic.increase({ acked, sacked: 0, loss: 0, wasTimeout: false, rtt: this.rtt, inflight: 0 });
    if (drop && now - this.lastCubicDrop > this.rtt) {
      this.cubic.reduction();
      this.lastCubicDrop = now;
    }
  }

  /** MulTCP: `xtcpFlows` emulated Reno flows; acked bytes split in proportion to their windows. */
  private multcp(acked: number, drop: boolean, now: number): void {
    const cw = this.vCwnd;
    let total = 0;
    for (const c of cw) total += c;
    if (acked > 0) {
      for (let i = 0; i < cw.length; i++) {
        const share = (acked * cw[i]!) / total;
        if (cw[i]! < this.vSsthresh[i]!) cw[i] = cw[i]! + share;
        else cw[i] = cw[i]! + (this.mss * share) / cw[i]!;
      }
    }
    if (drop) {
      // one emulated flow, chosen at random weighted by its window, halves (once per base RTT)
      this.rng ^= this.rng << 13;
      this.rng ^= this.rng >>> 17;
      this.rng ^= this.rng << 5;
      this.rng >>>= 0;
      let x = (this.rng / 0x100000000) * total;
      let i = 0;
      while (i < cw.length - 1 && x >= cw[i]!) x -= cw[i++]!;
      if (now - this.vLastDrop[i]! > this.baseRtt) {
        cw[i] = Math.max(cw[i]! / 2, this.mss);
        this.vSsthresh[i] = cw[i]!;
        this.vLastDrop[i] = now;
      }
    }
  }

  /**
   * Elasticity of the cross traffic from the last 512 z samples, folded into the EWMA (0.01 per
   * 10 ms grid point: `steps` points at once); switches mode when enabled.
   */
  private detect(now: number, t: number, steps: number): void {
    const fp = this.mode === 'xtcp' ? 5 : 6;
    const eta = elasticity(this.z, this.zCount, fp);
    this.elasticity = this.elasticity === 0 ? eta : eta + 0.99 ** steps * (this.elasticity - eta);
    this.hooks.onElasticity?.(this.elasticity, now);
    if (!this.cfg.useSwitching || t < SWITCH_FROM_US) return;
    if (this.mode === 'delay' && this.elasticity > 2.25) this.switchTo('xtcp', now);
    else if (this.mode === 'xtcp' && this.elasticity < 2.0 && now - this.lastSwitch >= 5e6)
      this.switchTo('delay', now);
  }

  private switchTo(mode: NimbusMode, now: number): void {
    this.mode = mode;
    this.lastSwitch = now;
    if (mode === 'delay') this.copaCwnd = 0;
    if (mode === 'xtcp') {
      this.cubic.setCwnd(Math.max((this.rate * this.rtt) / 1e6, this.mss));
      // the emulated flows take over the current rate
      const each = (this.rate * this.rtt) / 1e6 / this.vCwnd.length;
      for (let i = 0; i < this.vCwnd.length; i++) {
        this.vCwnd[i] = Math.max(each, this.mss);
        this.vSsthresh[i] = this.vCwnd[i]!;
      }
    }
    this.hooks.onModeChange?.(mode, now, this.elasticity);
  }
}

/**
 * η = |Z(f_p)| / max |Z(f)| over f in (f_p, 2 f_p), from the last 512 samples of a ring of z
 * (10 ms grid), mean removed and Hann-windowed. The DFT is evaluated only at the bins needed.
 */
export function elasticity(ring: Float64Array, count: number, fp: number): number {
  const n = ring.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += ring[i]!;
  mean /= n;
  const fs = 1e6 / GRID_US;
  const binOf = (f: number): number => (f * n) / fs;
  const mag = (k: number): number => {
    let re = 0;
    let im = 0;
    for (let i = 0; i < n; i++) {
      const x = (ring[(count + i) % n]! - mean) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
      const a = (2 * Math.PI * k * i) / n;
      re += x * Math.cos(a);
      im -= x * Math.sin(a);
    }
    return Math.hypot(re, im);
  };
  const kp = binOf(fp);
  let peak = 0;
  for (let k = Math.floor(kp) - 1; k <= Math.ceil(kp) + 1; k++) peak = Math.max(peak, mag(k));
  let other = 0;
  for (let k = Math.ceil(kp) + 3; k < Math.floor(binOf(2 * fp)) - 2; k++) other = Math.max(other, mag(k));
  return other > 0 ? peak / other : peak > 0 ? 100 : 0;
}

/**
 * Nimbus. Parameters (spec §6.9): `use_switching`, `bw_est_mode`, `use_ewma` (default false),
 * `delay_threshold`, `init_delay_threshold` (1.25), `pulse_size` (0.25), `uest` (bytes/s,
 * 12 000 000), `flow_mode` (XTCP | Delay), `delay_mode` (Nimbus | Copa | Vegas), `loss_mode`
 * (MulTCP | Cubic),
 * `xtcp_flows` (2). `hooks` observes mode switches and the elasticity estimate.
 */
export function nimbus(params: Params = {}, hooks: NimbusHooks = {}): Algorithm {
  const cfg = nimbusConfig(params);
  return {
    name: 'nimbus',
    datapathPrograms: () => ({ nimbus_program: NIMBUS_PROG }),
    newFlow: (dp: DatapathHandle, info: DatapathInfo): Flow => new NimbusFlow(dp, info, cfg, hooks),
  };
}
