/**
 * Datapath programs shared by the built-in algorithms (texts as in ccp-project's
 * generic-cong-avoid and pyportus, spec algorithms.md §2.2 and §7).
 * @module
 */

const REPORT_DEF = `(def (Report
    (volatile acked 0)
    (volatile sacked 0)
    (volatile loss 0)
    (volatile timeout false)
    (volatile rtt 0)
    (volatile inflight 0)
))`;

const FOLD = `(when true
    (:= Report.inflight Flow.packets_in_flight)
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.sacked (+ Report.sacked Ack.packets_misordered))
    (:= Report.loss Ack.lost_pkts_sample)
    (:= Report.timeout Flow.was_timeout)
    (fallthrough)
)`;

/** Report on loss/timeout, else once per RTT sample (generic-cong-avoid's default; pyportus aimd). */
export const INTERVAL_RTT_PROG = `${REPORT_DEF}
${FOLD}
(when (|| Report.timeout (> Report.loss 0))
    (report)
    (:= Micros 0)
)
(when (> Micros Flow.rtt_sample_us)
    (report)
    (:= Micros 0)
)`;

/** Report on loss/timeout, else every `reportTime` µs (a control variable set by CHANGE_PROG). */
export const INTERVAL_PROG = `(def
    (Report
        (volatile acked 0)
        (volatile sacked 0)
        (volatile loss 0)
        (volatile timeout false)
        (volatile rtt 0)
        (volatile inflight 0)
    )
    (reportTime 0)
)
${FOLD}
(when (|| Report.timeout (> Report.loss 0))
    (report)
    (:= Micros 0)
)
(when (> Micros reportTime)
    (report)
    (:= Micros 0)
)`;

/** Report on every ACK. */
export const ACK_UPDATE_PROG = `${REPORT_DEF}
(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.sacked (+ Report.sacked Ack.packets_misordered))
    (:= Report.loss Ack.lost_pkts_sample)
    (:= Report.timeout Flow.was_timeout)
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Report.inflight Flow.packets_in_flight)
    (report)
)`;

/** Slow start in the datapath (Cwnd += bytes acked per ACK); report only on loss/timeout. */
export const SS_UPDATE_PROG = `${REPORT_DEF}
(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.sacked (+ Report.sacked Ack.packets_misordered))
    (:= Report.loss Ack.lost_pkts_sample)
    (:= Report.timeout Flow.was_timeout)
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Report.inflight Flow.packets_in_flight)
    (:= Cwnd (+ Cwnd Ack.bytes_acked))
    (fallthrough)
)
(when (|| Report.timeout (> Report.loss 0))
    (report)
)`;

/** ccp-project/const's program: rtt, rates and summed losses, reported once per RTT sample. */
export const CONSTANT_PROG = `(def (Report
    (volatile rtt 0)
    (volatile rin 0)
    (volatile rout 0)
    (volatile loss 0)
))
(when true
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Report.rin Flow.rate_outgoing)
    (:= Report.rout Flow.rate_incoming)
    (:= Report.loss (+ Report.loss Ack.lost_pkts_sample))
    (fallthrough)
)
(when (> Micros Flow.rtt_sample_us)
    (report)
    (:= Micros 0)
)`;
