/**
 * Datapath programs used by the datapath benchmark (and its tests): an AIMD-style program that
 * adjusts Cwnd per ACK in the datapath, and a Cubic-style one (generic-cong-avoid's per-RTT report
 * fold plus a cubic window curve computed per ACK).
 */

/** AIMD in the datapath: +1 MSS per RTT, halve on loss, report once per RTT and on loss. */
export const AIMD_PROGRAM = `(def (Report (volatile acked 0) (volatile loss 0) (volatile rtt 0)) (mss 1448))
(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.loss (+ Report.loss Ack.lost_pkts_sample))
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Cwnd (+ Cwnd (/ (* mss Ack.bytes_acked) Cwnd)))
    (fallthrough)
)
(when (> Ack.lost_pkts_sample 0)
    (:= Cwnd (max (/ Cwnd 2) (* 2 mss)))
    (report)
)
(when (> Micros Flow.rtt_sample_us)
    (report)
    (:= Micros 0)
)
`;

/** Cubic-style: the six-field report fold of generic-cong-avoid plus W(t) = C(t-K)^3 + Wmax per ACK. */
export const CUBIC_PROGRAM = `(def (Report (volatile acked 0) (volatile sacked 0) (volatile loss 0) (volatile timeout false) (volatile rtt 0) (volatile inflight 0))
    (epoch 0) (k 100) (wmax 100000) (mss 1448))
(when true
    (:= Report.inflight Flow.packets_in_flight)
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.sacked (+ Report.sacked Ack.packets_misordered))
    (:= Report.loss Ack.lost_pkts_sample)
    (:= Report.timeout Flow.was_timeout)
    (:= t (/ (- Ack.now epoch) 1000))
    (:= d (- (max t k) k))
    (:= e (- k (min t k)))
    (:= grow (/ (* (* d d) (* d 4)) 10))
    (:= shrink (/ (* (* e e) (* e 4)) 10))
    (:= target (- (+ wmax grow) (min shrink wmax)))
    (:= Cwnd (max (min target (+ Cwnd mss)) (* 2 mss)))
    (fallthrough)
)
(when (|| (> Ack.lost_pkts_sample 0) (&& Flow.was_timeout true))
    (report)
)
(when (> Micros Flow.rtt_sample_us)
    (report)
    (:= Micros 0)
)
`;
