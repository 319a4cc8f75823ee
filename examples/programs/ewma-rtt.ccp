(def
    (Report (volatile srtt 0) (cwnd 0))
    (target 20000)
    (volatile hits 0)
)
# Spec example B: smoothed RTT, additive increase computed in the datapath, capped by `target`.
(when true
    (:= Report.srtt (ewma 8 Flow.rtt_sample_us))
    (:= inc (/ (* Ack.bytes_acked 1448) Cwnd))
    (:= Cwnd (min (+ Cwnd inc) target))
    (:= hits (if (> Flow.rtt_sample_us 5000) (+ hits 1)))
    (:= Report.cwnd Cwnd)
    (fallthrough)
)
# Report every 100 ms.
(when (> Micros 100000)
    (report)
    (:= Micros 0)
)
