/**
 * DCTCP (RFC 8257; spec algorithms.md §9): the datapath folds `Ack.bytes_acked` and
 * `Ack.ecn_bytes` and reports once per RTT (one window), immediately on loss or timeout. Per window
 * the agent updates α ← (1 − g)·α + g·F, F = ECN-marked bytes ÷ acked bytes; a window that saw
 * marks cuts cwnd to cwnd·(1 − α/2) once. Growth is Reno's (slow start, then MSS·acked/cwnd per
 * report); a loss halves the window once per RTT and a timeout restarts from the initial window,
 * as Reno.
 * @module
 */
import type { Algorithm, DatapathHandle, DatapathInfo, Flow, Report } from '../agent/index.ts';
import { boolParam, checkParams, rangeParam, type Params } from './params.ts';

/**
 * The program: acked and ECN-echoed bytes, losses; reported per RTT (the window: `early` false),
 * at once on loss/timeout, and at once on the window's first ECN echo (`early` true, so the
 * window is cut at the first mark, as Linux enters CWR on the first ECE).
 */
export const DCTCP_PROG = `(def
    (Report
        (volatile acked 0)
        (volatile ecn 0)
        (volatile loss 0)
        (volatile timeout false)
        (volatile rtt 0)
        (volatile early 0)
    )
    (markSeen 0)
)
(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.ecn (+ Report.ecn Ack.ecn_bytes))
    (:= Report.loss (+ Report.loss Ack.lost_pkts_sample))
    (:= Report.timeout Flow.was_timeout)
    (:= Report.rtt Flow.rtt_sample_us)
    (fallthrough)
)
(when (|| Report.timeout (> Report.loss 0))
    (report)
    (:= Micros 0)
)
(when (&& (> Report.ecn 0) (== markSeen 0))
    (:= markSeen 1)
    (:= Report.early 1)
    (report)
)
(when (> Micros Flow.rtt_sample_us)
    (:= markSeen 0)
    (report)
    (:= Micros 0)
)`;

/** DCTCP's configuration (`--param` names in brackets). */
export interface DctcpConfig {
  /** Estimation gain g [g, default 1/16 = 0.0625]. */
  g: number;
  /** α at flow start [alpha_init, default 1, as Linux's dctcp_alpha_on_init = 1024/1024]. */
  alphaInit: number;
  /** Set α to 1 on a loss (Linux dctcp_clamp_alpha_on_loss) [clamp_alpha_on_loss, default false]. */
  clampAlphaOnLoss: boolean;
}

/** Parameter names `dctcp` accepts. */
export const DCTCP_PARAMS = ['g', 'alpha_init', 'clamp_alpha_on_loss'] as const;

/** Parse DCTCP parameters. */
export function dctcpConfig(params: Params): DctcpConfig {
  checkParams('dctcp', params, DCTCP_PARAMS);
  return {
    g: rangeParam('dctcp', params, 'g', 1 / 16, 0, 1, true),
    alphaInit: rangeParam('dctcp', params, 'alpha_init', 1, 0, 1),
    clampAlphaOnLoss: boolParam('dctcp', params, 'clamp_alpha_on_loss'),
  };
}

/** DCTCP's per-flow state (exported for tests). Windows in bytes, times in µs. */
export class DctcpFlow implements Flow {
  cwnd: number;
  ssthresh = Infinity;
  alpha: number;
  /** Window reductions so far, by ECN marks and by loss. */
  readonly cuts = { ecn: 0, loss: 0 };
  private srtt = 0;
  private lastCut = -Infinity;
  private inEpisode = false;
  /** Sums over the current observation window (a loss report does not close it). */
  private winAcked = 0;
  private winEcn = 0;
  private readonly mss: number;
  private readonly initCwnd: number;

  constructor(
    private readonly dp: DatapathHandle,
    info: DatapathInfo,
    private readonly cfg: DctcpConfig,
  ) {
    this.mss = info.mss;
    this.initCwnd = info.initCwnd;
    this.cwnd = info.initCwnd;
    this.alpha = cfg.alphaInit;
    dp.setProgram('dctcp', { Cwnd: this.cwnd });
  }

  onReport(r: Report): void {
    const mss = this.mss;
    const now = this.dp.now();
    if (r.rtt > 0 && r.rtt < 0xffffffff)
      this.srtt = this.srtt === 0 ? r.rtt : this.srtt + (r.rtt - this.srtt) / 8;
    if (r.timeout === 1) {
      this.ssthresh = Math.max(this.cwnd / 2, 2 * mss);
      this.cwnd = this.initCwnd;
      this.lastCut = now;
      this.inEpisode = true;
      this.winAcked = 0;
      this.winEcn = 0;
      if (this.cfg.clampAlphaOnLoss) this.alpha = 1;
      this.push();
      return;
    }
    this.winAcked += r.acked;
    this.winEcn += r.ecn;
    // At most one reduction per window, as generic-cong-avoid's loss episodes: a reduction opens
    // an episode, and the first report whose RTT sample belongs to a packet sent after it (plus
    // srtt/4 for reordering) closes it; the marks and losses that report carries still belong
    // to the episode.
    const mayCut = !this.inEpisode;
    if (this.inEpisode && r.rtt > 0 && now - r.rtt > this.lastCut + this.srtt / 4) this.inEpisode = false;
    if (r.early === 1 && r.loss === 0) {
      // the window's first ECN echo: cut now with the current α (Linux: CWR on the first ECE);
      // α itself is updated at the end of the window
      if (mayCut) {
        this.cwnd = Math.max(this.cwnd * (1 - this.alpha / 2), 2 * mss);
        this.ssthresh = this.cwnd;
        this.lastCut = now;
        this.inEpisode = true;
        this.cuts.ecn++;
        this.push();
      }
      return;
    }
    const urgent = r.loss > 0;
    if (urgent) {
      if (this.cfg.clampAlphaOnLoss) this.alpha = 1;
      if (mayCut) {
        this.cwnd = Math.max(this.cwnd / 2, 2 * mss);
        this.ssthresh = this.cwnd;
        this.lastCut = now;
        this.inEpisode = true;
        this.cuts.loss++;
      }
      this.push();
      return;
    }
    // end of a window: fold the fraction of marked bytes into α
    const marked = this.winEcn > 0;
    if (this.winAcked > 0) {
      const f = Math.min(1, this.winEcn / this.winAcked);
      this.alpha = (1 - this.cfg.g) * this.alpha + this.cfg.g * f;
    }
    if (marked) {
      if (mayCut) {
        this.cwnd = Math.max(this.cwnd * (1 - this.alpha / 2), 2 * mss);
        this.ssthresh = this.cwnd;
        this.lastCut = now;
        this.inEpisode = true;
        this.cuts.ecn++;
      }
    } else if (this.cwnd < this.ssthresh) {
      this.cwnd = Math.min(this.cwnd + r.acked, Math.max(this.ssthresh, this.cwnd));
    } else {
      this.cwnd += (mss * r.acked) / this.cwnd;
    }
    this.winAcked = 0;
    this.winEcn = 0;
    this.push();
  }

  private push(): void {
    this.dp.updateField('Cwnd', Math.floor(this.cwnd));
  }
}

/**
 * DCTCP (RFC 8257). Parameters: `g` (estimation gain, default 0.0625), `alpha_init` (default 1),
 * `clamp_alpha_on_loss` (default false). Needs ECN marking at the bottleneck (`portus sim
 * --ecn-threshold`); without marks it behaves as Reno.
 */
export function dctcp(params: Params = {}): Algorithm {
  const cfg = dctcpConfig(params);
  return {
    name: 'dctcp',
    datapathPrograms: () => ({ dctcp: DCTCP_PROG }),
    newFlow: (dp: DatapathHandle, info: DatapathInfo): Flow => new DctcpFlow(dp, info, cfg),
  };
}
