// A user's algorithm in the classic style, as a user would write it: its own datapath program
// (installed per flow with install()), AIMD on reports, Cwnd pushed with updateField. The kernel
// rig runs it with `portus run test/kernel/algorithms/user-aimd.ts --ipc netlink` to prove user
// code controls Linux TCP. onClose prints one line the rig looks for.
import { AlgBase, type Report } from 'portus';

const PROGRAM = `
(def (Report
    (volatile acked 0)
    (volatile lost 0)
))
(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.lost (+ Report.lost Ack.lost_pkts_sample))
    (fallthrough)
)
(when (> Report.lost 0)
    (report)
    (:= Micros 0)
)
(when (> Micros Flow.rtt_sample_us)
    (report)
    (:= Micros 0)
)`;

export default class UserAimd extends AlgBase {
  static override algName = 'user-aimd';

  private readonly mss = this.datapathInfo.mss;
  private cwnd = 10 * this.mss;

  override onCreate(): void {
    this.datapath.install(PROGRAM, { Cwnd: this.cwnd });
  }

  override onReport(r: Report): void {
    if (r.lost > 0) this.cwnd = Math.max(this.cwnd / 2, 2 * this.mss);
    else this.cwnd += (this.mss * r.acked) / this.cwnd; // one MSS per window acked
    this.datapath.updateField('Cwnd', Math.floor(this.cwnd));
  }

  override onClose(): void {
    process.stderr.write(`user-aimd: onClose sid=${this.datapathInfo.sockId}\n`);
  }
}
