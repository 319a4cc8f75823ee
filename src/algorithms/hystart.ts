/**
 * HyStart's delay-increase detection (Ha and Rhee, "Taming the Elephants: New TCP Slow Start";
 * Linux tcp_cubic.c, HYSTART_DELAY), the CCP way: the datapath program folds, per ACK, the
 * report's minimum RTT and the minimum of the latest block of {@link HYSTART_MIN_SAMPLES} RTT
 * samples ({@link withHystart}); the agent decides per report ({@link HyStart.onReport}). Slow
 * start ends (ssthresh = cwnd) when a round's minimum RTT exceeds the flow's minimum by
 * clamp(minRTT / 8, 4 ms, 16 ms). ACK-train detection (HYSTART_ACK_TRAIN) is not implemented.
 * See docs/algorithms.md for how a once-per-RTT report changes the detection.
 * @module
 */
import type { Report } from '../agent/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';

/** RTT samples a round needs before its minimum is compared (Linux HYSTART_MIN_SAMPLES). */
export const HYSTART_MIN_SAMPLES = 8;
/** Lower and upper clamp of the delay threshold, µs (Linux HYSTART_DELAY_MIN/MAX). */
export const HYSTART_DELAY_MIN_US = 4000;
export const HYSTART_DELAY_MAX_US = 16000;
/** HyStart runs only from this window on, in packets (Linux hystart_low_window). */
export const HYSTART_LOW_WINDOW = 16;

/** The datapath's "no sample" (+infinity is reported as u32 max). */
const NO_SAMPLE = 0xffffffff;

const FIELDS = `
    (volatile minrtt +infinity)
    (volatile hsrtt +infinity)
    (volatile hssamples 0)`;

/** Control variables (kept across reports): the block of samples being folded. */
const VARS = `
    (hsblock +infinity)
    (hsn 0)
`;

const FOLD = `(when (> Flow.rtt_sample_us 0)
    (:= Report.minrtt (min Report.minrtt Flow.rtt_sample_us))
    (:= hsblock (min hsblock Flow.rtt_sample_us))
    (:= hsn (+ hsn 1))
    (fallthrough)
)
(when (> hsn ${HYSTART_MIN_SAMPLES - 1})
    (:= Report.hsrtt hsblock)
    (:= Report.hssamples (+ Report.hssamples hsn))
    (:= hsblock +infinity)
    (:= hsn 0)
    (fallthrough)
)
`;

/**
 * A generic-cong-avoid report program with HyStart's fields: `minrtt` (every sample of the
 * report), `hsrtt` (the minimum of the latest complete block of {@link HYSTART_MIN_SAMPLES}
 * samples) and `hssamples` (samples in the blocks completed during the report). `prog` must
 * declare `(volatile inflight 0)` in its Report and start its clauses with `(when`.
 */
export function withHystart(prog: string): string {
  const field = '(volatile inflight 0)';
  const f = prog.indexOf(field);
  if (f < 0 || !prog.includes('\n(when ')) {
    throw new PortusError(ErrorCodes.ALGORITHM, 'withHystart: not a generic-cong-avoid report program');
  }
  let out = prog.slice(0, f + field.length) + FIELDS + prog.slice(f + field.length);
  const w = out.indexOf('\n(when ');
  const defEnd = out.lastIndexOf(')', w); // the paren closing (def ...)
  out = out.slice(0, defEnd) + VARS + out.slice(defEnd, w + 1) + FOLD + out.slice(w + 1);
  return out;
}

/** Linux's HYSTART_DELAY_THRESH: clamp(minRtt / 8, 4 ms, 16 ms), µs. */
export function hystartDelayThresh(minRttUs: number): number {
  return Math.min(Math.max(minRttUs / 8, HYSTART_DELAY_MIN_US), HYSTART_DELAY_MAX_US);
}

/**
 * One flow's HyStart state. A round lasts from its start until a report arrives at least one
 * RTT sample later; with the default once-per-RTT report every report is one round.
 */
export class HyStart {
  /** Slow start's end was detected (Linux `found`); cleared by {@link HyStart.reset}. */
  found = false;
  /** The flow's minimum RTT, µs (Linux `delay_min`; 0 before the first sample). */
  delayMin = 0;
  /** Minimum RTT of the current round's counted samples, µs. */
  private roundMin = Infinity;
  private roundSamples = 0;
  /** Agent-clock µs the current round started. */
  private roundStart: number;

  constructor(now: number) {
    this.roundStart = now;
  }

  /**
   * Fold one report in; true when slow start should end now (then set ssthresh = cwnd). `cwnd`
   * and `ssThresh` in bytes, `now` the agent clock in µs.
   */
  onReport(r: Report, cwnd: number, ssThresh: number, mss: number, now: number): boolean {
    const minrtt = r.minrtt;
    if (minrtt > 0 && minrtt < NO_SAMPLE && (this.delayMin === 0 || minrtt < this.delayMin)) {
      this.delayMin = minrtt;
    }
    let exit = false;
    const inSlowStart = cwnd < ssThresh;
    if (!this.found && inSlowStart && cwnd >= HYSTART_LOW_WINDOW * mss) {
      const hsrtt = r.hsrtt;
      if (hsrtt > 0 && hsrtt < NO_SAMPLE) {
        if (hsrtt < this.roundMin) this.roundMin = hsrtt;
        this.roundSamples += r.hssamples;
      }
      // Linux compares with `>`, once the round has HYSTART_MIN_SAMPLES samples.
      if (
        this.roundSamples >= HYSTART_MIN_SAMPLES &&
        this.delayMin > 0 &&
        this.roundMin > this.delayMin + hystartDelayThresh(this.delayMin)
      ) {
        this.found = true;
        exit = true;
      }
    }
    if (!inSlowStart || now - this.roundStart >= r.rtt) this.newRound(now);
    return exit;
  }

  /**
   * Re-arm after a timeout: Linux's Cubic clears its state, `delay_min` and `found` among it, on
   * entering TCP_CA_Loss.
   */
  reset(now: number): void {
    this.found = false;
    this.delayMin = 0;
    this.newRound(now);
  }

  private newRound(now: number): void {
    this.roundStart = now;
    this.roundMin = Infinity;
    this.roundSamples = 0;
  }
}
