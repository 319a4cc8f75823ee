// A classic-style algorithm (one object per flow, like the original Python bindings):
// AIMD on packet counts, as in the CCP guide's tutorial.
//
//   npx portus run ./examples/classic-aimd.ts [--param min_cwnd=4]
//
import { AlgBase, type Report } from 'portus';

// Sum acked and lost packets per ACK; report once per RTT sample, and at once on a loss.
const PROGRAM = `
(def (Report
    (volatile packets_acked 0)
    (volatile packets_lost 0)
))
(when true
    (:= Report.packets_acked (+ Report.packets_acked Ack.packets_acked))
    (:= Report.packets_lost (+ Report.packets_lost Ack.lost_pkts_sample))
    (fallthrough)
)
(when (> Report.packets_lost 0)
    (report)
    (:= Micros 0)
)
(when (> Micros Flow.rtt_sample_us)
    (report)
    (:= Micros 0)
)`;

export default class ClassicAimd extends AlgBase {
  /** The name a datapath can ask for in CREATE. */
  static override algName = 'classic-aimd';

  private readonly mss = this.datapathInfo.mss;
  private readonly minCwnd = Number(this.params.min_cwnd ?? 2) * this.mss;
  private cwnd = 10 * this.mss;

  override onCreate(): void {
    // Compiles the program (a CompileError points at line and column), installs it on this
    // datapath unless an identical one is already there, and switches the flow to it.
    this.datapath.install(PROGRAM, { Cwnd: this.cwnd });
  }

  override onReport(r: Report): void {
    if (r.packets_lost > 0) {
      this.cwnd = Math.max(this.cwnd / 2, this.minCwnd); // multiplicative decrease
    } else {
      this.cwnd += (this.mss * r.packets_acked * this.mss) / this.cwnd; // +1 MSS per window
    }
    this.datapath.updateField('Cwnd', Math.floor(this.cwnd));
  }

  override onClose(): void {
    // nothing to release
  }
}
