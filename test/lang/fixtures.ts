// Program texts shared by several test files: the spec's worked examples (language.md §13).

export const EXAMPLE_A = `(def (Report (volatile rtt 0) (volatile acked 0) (minrtt +infinity)))
(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Report.minrtt (min Report.minrtt Flow.rtt_sample_us))
    (fallthrough)
)
(when (> Micros Report.minrtt)
    (report)
    (:= Micros 0)
)
`;

export const EXAMPLE_B = `(def
    (Report (volatile srtt 0) (cwnd 0))
    (target 20000)
    (volatile hits 0)
)
(when true
    (:= Report.srtt (ewma 8 Flow.rtt_sample_us))
    (:= inc (/ (* Ack.bytes_acked 1448) Cwnd))
    (:= Cwnd (min (+ Cwnd inc) target))
    (:= hits (if (> Flow.rtt_sample_us 5000) (+ hits 1)))
    (:= Report.cwnd Cwnd)
    (fallthrough)
)
(when (> Micros 100000)
    (report)
    (:= Micros 0)
)
`;

export const EXAMPLE_C = `(def (Report (volatile timeout false) (volatile acks 0)) (volatile lastack 0))
(when (&& Flow.was_timeout true)
    (:= Report.timeout true)
    (report)
)
(when true
    (:= Report.acks (+ Report.acks 1))
    (:= lastack (!if (== Ack.packets_acked 0) Ack.now))
    (fallthrough)
)
(when (|| (> Report.acks 9) (< Flow.rtt_sample_us 100))
    (report)
)
`;
