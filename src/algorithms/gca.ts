/**
 * generic-cong-avoid (spec algorithms.md §2): the framework Reno and Cubic share. It owns the
 * datapath program, slow start, loss handling with the reduction deficit, timeouts and pushing
 * Cwnd; an algorithm supplies only `currCwnd`, `setCwnd`, `increase`, `reduction` and `reset`.
 * @module
 */
import type { Algorithm, DatapathHandle, DatapathInfo, Flow, Report } from '../agent/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import { boolParam, checkParams, numParam, type Params } from './params.ts';
import { HyStart, withHystart } from './hystart.ts';
import { ACK_UPDATE_PROG, INTERVAL_PROG, INTERVAL_RTT_PROG, SS_UPDATE_PROG } from './programs.ts';

/** One report, as generic-cong-avoid reads it. */
export interface Measurements {
  /** Bytes acked since the last report (after slow start took its part, when passed to increase). */
  acked: number;
  /** Packets SACKed (misordered) since the last report. */
  sacked: number;
  /** Packets lost, from the last ACK only. */
  loss: number;
  wasTimeout: boolean;
  /** Last RTT sample, µs. */
  rtt: number;
  /** Packets in flight at the last ACK. */
  inflight: number;
}

/** The per-flow part an algorithm supplies. Windows are in bytes. */
export interface GcaFlow {
  currCwnd(): number;
  setCwnd(bytes: number): void;
  increase(m: Measurements): void;
  reduction(m: Measurements): void;
  reset(): void;
}

/** What the framework needs to make an algorithm's flows. */
export interface GcaAlgorithm {
  name: string;
  /** `now()` is the agent clock in µs (see `DatapathHandle.now`). */
  newFlow(initCwnd: number, mss: number, now: () => number): GcaFlow;
}

/** Framework configuration (generic-cong-avoid's command-line flags). */
export interface GcaConfig {
  /** Initial window in bytes; 0 = the datapath's. */
  initCwnd: number;
  /** Initial slow-start threshold in bytes. */
  ssThresh: number;
  /** Run slow start in the datapath (SSUpdateProg) until the first report. */
  ssInFold: boolean;
  /** Report on every ACK. */
  perAck: boolean;
  /** Report every N ms instead of once per RTT (0 = per RTT). */
  reportIntervalMs: number;
  /** Slow-start growth acked / ln 2 instead of acked. */
  compensateUpdate: boolean;
  /** Reset the reduction deficit after this many RTTs since the last reduction (0 = never). */
  deficitTimeout: number;
  /**
   * Leave slow start on HyStart's delay increase (src/algorithms/hystart.ts); absent = off.
   * Cubic's `hystart` parameter sets it.
   */
  hystart?: boolean;
}

/** Parameter names (`--param k=v`) understood by every generic-cong-avoid algorithm. */
export const GCA_PARAMS = [
  'init_cwnd',
  'ss_thresh',
  'ss_in_fold',
  'per_ack',
  'report_interval_ms',
  'compensate_update',
  'deficit_timeout',
] as const;

/** Default slow-start threshold (0x7fffffff bytes). */
export const DEFAULT_SS_THRESH = 0x7fffffff;

/**
 * Parse generic-cong-avoid parameters. `own` names the algorithm's own parameters (already taken
 * out of `params`), only so that the error for an unknown name lists them too.
 */
export function gcaConfig(alg: string, params: Params, own: readonly string[] = []): GcaConfig {
  checkParams(alg, params, [...GCA_PARAMS, ...own]);
  const cfg: GcaConfig = {
    initCwnd: numParam(alg, params, 'init_cwnd', 0),
    ssThresh: numParam(alg, params, 'ss_thresh', DEFAULT_SS_THRESH),
    ssInFold: boolParam(alg, params, 'ss_in_fold'),
    perAck: boolParam(alg, params, 'per_ack'),
    reportIntervalMs: numParam(alg, params, 'report_interval_ms', 0),
    compensateUpdate: boolParam(alg, params, 'compensate_update'),
    deficitTimeout: numParam(alg, params, 'deficit_timeout', 0),
  };
  if (cfg.perAck && cfg.reportIntervalMs > 0) {
    throw new PortusError(ErrorCodes.ALGORITHM, `${alg}: per_ack and report_interval_ms exclude each other`);
  }
  return cfg;
}

/** Build a portus-style Algorithm from a generic-cong-avoid algorithm and configuration. */
export function genericCongAvoid(alg: GcaAlgorithm, cfg: GcaConfig): Algorithm {
  // Declare only the programs this configuration uses (the datapath's table is small).
  const reportProg = cfg.perAck
    ? 'AckUpdateProg'
    : cfg.reportIntervalMs > 0
      ? 'DatapathIntervalProg'
      : 'DatapathIntervalRTTProg';
  const programs: Record<string, string> = {};
  if (cfg.ssInFold) programs.SSUpdateProg = SS_UPDATE_PROG;
  const reportText =
    reportProg === 'AckUpdateProg'
      ? ACK_UPDATE_PROG
      : reportProg === 'DatapathIntervalProg'
        ? INTERVAL_PROG
        : INTERVAL_RTT_PROG;
  programs[reportProg] = cfg.hystart === true ? withHystart(reportText) : reportText;

  return {
    name: alg.name,
    datapathPrograms: () => ({ ...programs }),
    newFlow: (datapath: DatapathHandle, info: DatapathInfo): Flow =>
      new GcaFlowImpl(alg, cfg, reportProg, datapath, info),
  };
}

class GcaFlowImpl implements Flow {
  private readonly dp: DatapathHandle;
  private readonly alg: GcaFlow;
  private readonly cfg: GcaConfig;
  private readonly reportProg: string;
  private readonly mss: number;
  private readonly initCwnd: number;
  private ssThresh: number;
  private rtt = 0;
  /** Smoothed RTT over the reports' samples (µs, gain 1/8; 0 before the first sample). */
  private srtt = 0;
  private inStartup = false;
  /** Packets still to be accounted for after a reduction (the "deficit"). */
  private deficit = 0;
  /** Agent-clock µs of the last reduction. */
  private lastReduction: number;
  /**
   * A loss episode is open: the last reduction (or timeout) has not yet been followed by a
   * report whose newest delivered packet was sent after it (our stand-in for Linux's high_seq).
   */
  private inEpisode = false;
  /** Agent-clock µs from which a packet counts as sent after the episode's reduction. */
  private episodeSentAfter = 0;
  /** HyStart's state when `cfg.hystart` (null = off). */
  private readonly hystart: HyStart | null;
  private readonly m: Measurements = { acked: 0, sacked: 0, loss: 0, wasTimeout: false, rtt: 0, inflight: 0 };

  constructor(gca: GcaAlgorithm, cfg: GcaConfig, reportProg: string, dp: DatapathHandle, info: DatapathInfo) {
    this.dp = dp;
    this.cfg = cfg;
    this.reportProg = reportProg;
    this.mss = info.mss;
    this.initCwnd = cfg.initCwnd !== 0 ? cfg.initCwnd : info.initCwnd;
    this.ssThresh = cfg.ssThresh;
    this.lastReduction = dp.now() - 500_000;
    this.alg = gca.newFlow(this.initCwnd, info.mss, () => dp.now());
    this.hystart = cfg.hystart === true ? new HyStart(dp.now()) : null;
    if (cfg.ssInFold) {
      this.inStartup = true;
      dp.setProgram('SSUpdateProg', { Cwnd: this.alg.currCwnd() });
    } else {
      this.installReportProgram();
    }
  }

  private installReportProgram(): void {
    const fields: Record<string, number> = { Cwnd: this.alg.currCwnd() };
    if (this.reportProg === 'DatapathIntervalProg')
      fields.reportTime = Math.floor(this.cfg.reportIntervalMs * 1000);
    this.dp.setProgram(this.reportProg, fields);
  }

  onReport(r: Report): void {
    const m = this.m;
    m.acked = r.acked;
    m.sacked = r.sacked;
    m.loss = r.loss;
    m.wasTimeout = r.timeout === 1;
    m.rtt = r.rtt;
    m.inflight = r.inflight;

    if (this.inStartup) {
      this.installReportProgram();
      this.alg.setCwnd(m.inflight * this.mss);
      this.inStartup = false;
    }
    this.rtt = m.rtt;
    if (m.rtt > 0) this.srtt = this.srtt === 0 ? m.rtt : this.srtt + (m.rtt - this.srtt) / 8;
    if (m.wasTimeout) {
      this.handleTimeout();
      return;
    }
    // Departure from generic-cong-avoid (docs/algorithms.md): this report closes the loss
    // episode when the packet its RTT sample belongs to was sent after the reduction (plus a
    // reordering allowance). Losses it carries still belong to the episode: under FIFO, that
    // delivery is what exposes the last losses among the packets sent before the reduction.
    const closesEpisode = this.inEpisode && m.rtt > 0 && this.dp.now() - m.rtt > this.episodeSentAfter;
    // HyStart decides before this report's growth, as Linux's pkts_acked runs before cong_avoid.
    if (this.hystart?.onReport(r, this.alg.currCwnd(), this.ssThresh, this.mss, this.dp.now()) === true) {
      this.ssThresh = this.alg.currCwnd();
    }
    m.acked = this.slowStartIncrease(m.acked);
    this.alg.increase(m);
    const reduced = this.maybeReduceCwnd(m);
    if (closesEpisode && !reduced) this.inEpisode = false;
    if (this.deficit > 0) return; // window frozen during recovery
    this.updateCwnd();
  }

  /** Start a loss episode at the agent time `now` (a reduction or a timeout). */
  private openEpisode(now: number): void {
    this.inEpisode = true;
    // Linux RACK declares a packet lost once one sent a reordering window (min RTT / 4) later is
    // delivered; srtt / 4 is at least that, so every loss among the packets sent before the
    // reduction shows up no later than the report that closes the episode.
    this.episodeSentAfter = now + this.srtt / 4;
  }

  private updateCwnd(): void {
    this.dp.updateField('Cwnd', Math.floor(this.alg.currCwnd()));
  }

  private handleTimeout(): void {
    this.ssThresh = Math.floor(this.ssThresh / 2);
    if (this.ssThresh < this.initCwnd) this.ssThresh = this.initCwnd;
    this.alg.reset();
    this.alg.setCwnd(this.initCwnd);
    this.hystart?.reset(this.dp.now());
    this.deficit = 0;
    this.openEpisode(this.dp.now());
    this.updateCwnd();
  }

  /** Step 5 of the per-report processing; true when it reduced the window. */
  private maybeReduceCwnd(m: Measurements): boolean {
    let reduced = false;
    if (m.loss > 0 || m.sacked > 0) {
      const now = this.dp.now();
      // deficit_timeout is in RTTs; compared in µs (the paper-era semantics, spec §2.7). As in
      // the original it allows a new reduction, so it also ends the episode.
      if (this.cfg.deficitTimeout > 0 && now - this.lastReduction > this.rtt * this.cfg.deficitTimeout) {
        this.deficit = 0;
        this.inEpisode = false;
      }
      // Departure: reductions happen only outside a loss episode (one per episode, as Linux's
      // recovery up to high_seq), and the deficit belongs to the episode that produced it.
      if (!this.inEpisode) this.deficit = 0;
      if (
        !this.inEpisode &&
        ((m.loss > 0 && this.deficit === 0) || (m.acked > 0 && this.alg.currCwnd() === this.ssThresh))
      ) {
        this.alg.reduction(m);
        this.lastReduction = now;
        this.openEpisode(now);
        this.ssThresh = this.alg.currCwnd();
        this.updateCwnd();
        reduced = true;
      }
      this.deficit += m.sacked + m.loss;
    } else if (m.acked < this.deficit) {
      // Unit quirk kept from generic-cong-avoid: acked (bytes) is compared with packets.
      this.deficit -= Math.floor(m.acked / this.mss);
    } else {
      this.deficit = 0;
    }
    return reduced;
  }

  private slowStartIncrease(acked: number): number {
    let rest = acked;
    const cwnd = this.alg.currCwnd();
    if (cwnd < this.ssThresh) {
      if (cwnd + rest > this.ssThresh) {
        rest -= this.ssThresh - cwnd;
        this.alg.setCwnd(this.ssThresh);
      } else {
        if (this.cfg.compensateUpdate) this.alg.setCwnd(cwnd + Math.floor(rest / Math.LN2));
        else this.alg.setCwnd(cwnd + rest);
        rest = 0;
      }
    }
    return rest;
  }
}
