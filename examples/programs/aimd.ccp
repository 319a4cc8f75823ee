(def
    (Report
        (volatile acked 0)
        (volatile loss 0)
        (volatile timeout false)
        (volatile rtt 0)
    )
)
# Every ACK: sum the acked bytes and losses, keep the latest RTT sample and timeout flag.
(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.loss (+ Report.loss Ack.lost_pkts_sample))
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Report.timeout Flow.was_timeout)
    (fallthrough)
)
# A loss or a timeout is reported at once.
(when (|| Report.timeout (> Report.loss 0))
    (report)
    (:= Micros 0)
)
# Otherwise report once per RTT.
(when (> Micros Flow.rtt_sample_us)
    (report)
    (:= Micros 0)
)
