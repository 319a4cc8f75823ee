/**
 * The sending side of a simulated flow: what to send next (lost packets before new data),
 * limited by cwnd (packets in flight < floor(cwnd / MSS), at least 1), pacing and the
 * application; the transmission log and scoreboard entries of each transmission; the sender's
 * access link; arming the retransmission timer.
 * @module
 */
import { EV_ARRIVE, EV_RTO, EV_SEND } from './events.ts';
import { P_LOST, P_OUT, T_OUT, type FlowState } from './flow.ts';
import type { Network } from './network.ts';

/** Send as much as cwnd, pacing and the application allow. */
export function trySend(net: Network, f: FlowState): void {
  if (!f.active) return;
  for (;;) {
    if (f.inflight >= f.cwndPkts) return;
    let seq: number;
    let retrans = false;
    if (f.lostOut > 0) {
      const mask = f.seqMask;
      let p = f.retxPtr < f.sndUna ? f.sndUna : f.retxPtr;
      while (p < f.nextSeq && f.pState[p & mask] !== P_LOST) p++;
      f.retxPtr = p;
      if (p >= f.nextSeq) {
        f.lostOut = 0; // defensive: counter and scoreboard agree again
        continue;
      }
      seq = p;
      retrans = true;
    } else {
      if (f.nextSeq >= f.appLimitPkts) return;
      seq = f.nextSeq;
    }
    if (f.rateBytesPerSec > 0 && net.now < f.paceNext) {
      if (f.sendTimerAt > f.paceNext) {
        f.sendTimerAt = f.paceNext;
        net.q.push(f.paceNext, EV_SEND, f.index);
      }
      return;
    }
    if (!retrans) {
      if (f.nextSeq - f.sndUna >= f.seqCap - 1) f.growSeq();
      f.nextSeq++;
    }
    transmit(net, f, seq, retrans);
  }
}

/** Transmit packet `seq` of flow `f` now: log it, then hand it to the access link or bottleneck. */
function transmit(net: Network, f: FlowState, seq: number, retrans: boolean): void {
  const now = net.now;
  const size = f.wire;
  if (f.txNext - f.txScan >= f.txCap >> 1) f.growTx();
  if (f.inflight === 0) {
    // Linux tcp_rate: restart the sampling intervals after an idle period
    f.firstSentTime = now;
    f.deliveredTime = now;
  }
  const tx = f.txNext++;
  const ti = tx & f.txMask;
  f.tSeq[ti] = seq;
  f.tState[ti] = T_OUT;
  f.tSent[ti] = now;
  f.tDelivered[ti] = f.delivered;
  f.tDeliveredTime[ti] = f.deliveredTime;
  f.tFirstSent[ti] = f.firstSentTime;
  const si = seq & f.seqMask;
  if (retrans) {
    f.lostOut--;
    f.retransPkts++;
  }
  f.pState[si] = P_OUT;
  f.pTx[si] = tx;
  f.inflight++;
  f.sentPkts++;
  f.sentBytes += size;
  if (f.rateBytesPerSec > 0) {
    const base = f.paceNext > now ? f.paceNext : now;
    f.paceNext = base + (size * 1e6) / f.rateBytesPerSec;
  }
  if (f.rtoDeadline === 0) armRto(net, f);
  const pk = net.pk;
  const p = pk.alloc();
  pk.flow[p] = f.index;
  pk.seq[p] = seq;
  pk.tx[p] = tx;
  pk.size[p] = size;
  pk.retx[p] = retrans ? 1 : 0;
  const access = net.accessRateBps;
  if (access === Infinity) net.link.arrive(p, now);
  else {
    // the access link: serialise behind the sender's earlier packets, then reach the bottleneck
    const start = f.nicFreeAt > now ? f.nicFreeAt : now;
    f.nicFreeAt = start + (size * 8e6) / access;
    net.q.push(f.nicFreeAt, EV_ARRIVE, p);
  }
}

/**
 * (Re)arm flow `f`'s retransmission timer: the deadline is now + RTO × backoff (at most 60 s);
 * a timer event is queued only when none is pending at or before it.
 */
export function armRto(net: Network, f: FlowState): void {
  const rto = Math.min(f.rto * f.backoff, 60e6);
  f.rtoDeadline = net.now + rto;
  if (f.rtoTimerAt > f.rtoDeadline) {
    f.rtoTimerAt = f.rtoDeadline;
    net.q.push(f.rtoDeadline, EV_RTO, f.index);
  }
}
