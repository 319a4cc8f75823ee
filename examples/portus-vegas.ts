// A portus-style algorithm (an algorithm object with named programs and a flow factory):
// a small delay-based controller in the spirit of TCP Vegas. Once per RTT it compares the
// expected rate (cwnd / base RTT) with the actual one (cwnd / RTT) and moves the window by one
// packet to keep between `alpha` and `beta` packets queued in the network.
//
//   npx portus run ./examples/portus-vegas.ts
//
import type { Algorithm, DatapathHandle, DatapathInfo, Flow, Report } from 'portus';

const ALPHA = 2; // packets
const BETA = 4; // packets

const vegas: Algorithm = {
  name: 'vegas-lite',

  // Every program here is compiled when the agent starts (start-up fails listing every error)
  // and installed on each datapath; flows switch between them with setProgram.
  datapathPrograms: () => ({
    perRtt: `
      (def (Report
          (volatile acked 0)
          (volatile loss 0)
          (volatile minrtt +infinity)
      ))
      (when true
          (:= Report.acked (+ Report.acked Ack.bytes_acked))
          (:= Report.loss (+ Report.loss Ack.lost_pkts_sample))
          (:= Report.minrtt (min Report.minrtt Flow.rtt_sample_us))
          (fallthrough)
      )
      (when (> Micros Flow.rtt_sample_us)
          (report)
          (:= Micros 0)
      )`,
  }),

  newFlow(datapath: DatapathHandle, info: DatapathInfo): Flow {
    const mss = info.mss;
    let cwnd = info.initCwnd;
    let baseRtt = Infinity;
    datapath.setProgram('perRtt', { Cwnd: cwnd });
    return {
      onReport(r: Report): void {
        if (r.acked === 0) return;
        const rtt = r.minrtt;
        baseRtt = Math.min(baseRtt, rtt);
        if (r.loss > 0) {
          cwnd = Math.max(cwnd / 2, 2 * mss);
        } else {
          // packets queued = cwnd/mss × (1 − baseRtt/rtt)
          const queued = (cwnd / mss) * (1 - baseRtt / rtt);
          if (queued < ALPHA) cwnd += mss;
          else if (queued > BETA) cwnd = Math.max(cwnd - mss, 2 * mss);
        }
        datapath.updateField('Cwnd', Math.floor(cwnd));
      },
    };
  },
};

export default vegas;
