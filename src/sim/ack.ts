/**
 * ACK processing at the sender: SACK and cumulative ACK against the scoreboard, loss detection
 * on the transmission log (a transmission is lost when 3 later transmissions have been delivered
 * — the duplicate-ACK threshold — or when a packet sent more than minRTT/4 after it has been
 * delivered: time based, RACK-like), RTT and RTO estimation, Linux tcp_rate rate samples, and
 * the datapath's primitives for the congestion controller's ACK hook.
 * @module
 */
import {
  P_LOST,
  P_NONE,
  P_OUT,
  P_SACKED,
  SNDBUF,
  T_DELIVERED,
  T_LOST,
  T_OUT,
  type FlowState,
} from './flow.ts';
import type { Network, SimPrimitives } from './network.ts';
import { armRto, trySend } from './sender.ts';

/** The ACK carried by packet `p` reaches its sender (EV_ACK). */
export function onAck(net: Network, p: number): void {
  const pk = net.pk;
  const f = net.flows[pk.flow[p]!]!;
  const seq = pk.seq[p]!;
  const tx = pk.tx[p]!;
  const cum = pk.cum[p]!;
  const ece = pk.mark[p] === 1;
  pk.release(p);
  if (!f.active) return;
  const now = net.now;
  const mss = f.mss;
  const mask = f.seqMask;
  const sackedBefore = f.sackedOut;
  let newlyDelivered = 0;

  // the packet itself (SACK information)
  if (seq >= f.sndUna && seq < f.nextSeq) {
    const si = seq & mask;
    const st = f.pState[si]!;
    if (st === P_OUT || st === P_LOST) {
      if (st === P_OUT) f.inflight--;
      else f.lostOut--;
      newlyDelivered = 1;
      if (seq >= cum) {
        f.pState[si] = P_SACKED;
        f.sackedOut++;
      } else f.pState[si] = P_NONE;
    }
  }
  // cumulative ACK
  let bytesAcked = 0;
  const advanced = cum > f.sndUna;
  while (f.sndUna < cum) {
    const si = f.sndUna & mask;
    const st = f.pState[si]!;
    if (st === P_OUT) {
      f.inflight--;
      newlyDelivered++;
    } else if (st === P_LOST) {
      f.lostOut--;
      newlyDelivered++;
    } else if (st === P_SACKED) f.sackedOut--;
    f.pState[si] = P_NONE;
    f.sndUna++;
    bytesAcked += mss;
  }
  f.ackedBytes += bytesAcked;

  // transmission log: delivery, holes, loss marking
  let lost = 0;
  const txValid = f.txNext - tx <= f.txCap && tx >= f.txNext - f.txCap;
  let rtt = 0;
  if (txValid) {
    const tm = f.txMask;
    const ti = tx & tm;
    const wasOut = f.tState[ti] === T_OUT;
    if (wasOut) f.tState[ti] = T_DELIVERED;
    if (tx > f.txHigh) {
      for (let j = Math.max(f.txHigh + 1, f.txScan); j < tx; j++) f.tHoleD[j & tm] = f.dCount;
      f.txHigh = tx;
    }
    f.dCount++;
    const sentK = f.tSent[ti]!;
    const reoWnd = Number.isFinite(f.minRtt) ? f.minRtt / 4 : 0;
    while (f.txScan < f.txNext && f.txScan <= f.txHigh) {
      const j = f.txScan;
      const jj = j & tm;
      const st = f.tState[jj]!;
      if (st !== T_OUT) {
        f.txScan++;
        continue;
      }
      if (f.dCount - f.tHoleD[jj]! >= 3 || sentK - f.tSent[jj]! > reoWnd) {
        f.tState[jj] = T_LOST;
        const s = f.tSeq[jj]!;
        const si = s & mask;
        if (s >= f.sndUna && f.pState[si] === P_OUT && f.pTx[si] === j) {
          f.pState[si] = P_LOST;
          f.inflight--;
          f.lostOut++;
          lost++;
          if (s < f.retxPtr) f.retxPtr = s;
        }
        f.txScan++;
      } else break;
    }
    // RTT sample and rate sample from this transmission
    if (newlyDelivered > 0) {
      rtt = now - sentK;
      if (rtt < 1) rtt = 1;
      f.delivered += newlyDelivered;
      const priorDelivered = f.tDelivered[ti]!;
      const priorTime = f.tDeliveredTime[ti]!;
      const sndInterval = sentK - f.tFirstSent[ti]!;
      const rcvInterval = now - priorTime;
      f.firstSentTime = sentK;
      f.deliveredTime = now;
      const d = f.delivered - priorDelivered;
      if (d > 0 && sndInterval > 0) {
        const r = Math.floor((d * 1500 * 1e6) / sndInterval);
        if (r > 0) f.rateOut = r;
      }
      if (d > 0 && rcvInterval > 0) {
        const r = Math.floor((d * 1500 * 1e6) / rcvInterval);
        if (r > 0) f.rateIn = r;
      }
    }
  } else if (newlyDelivered > 0) {
    f.delivered += newlyDelivered;
    f.deliveredTime = now;
  }
  f.lostDetected += lost;
  if (lost > 0) net.log.add(now, f.index, 'loss', lost);

  if (rtt > 0) rttSample(net, f, rtt);
  if (advanced) {
    f.backoff = 1;
    if (f.sndUna < f.nextSeq) armRto(net, f);
    else f.rtoDeadline = 0;
  }

  if (newlyDelivered > 0 && rtt > 0) {
    const pr = net.prims[f.index]!;
    const misordered = f.sackedOut > sackedBefore ? f.sackedOut - sackedBefore : 0;
    pr.bytesAcked = bytesAcked;
    pr.packetsMisordered = misordered;
    pr.bytesMisordered = misordered * mss;
    pr.packetsAcked = newlyDelivered - misordered > 0 ? newlyDelivered - misordered : 0;
    pr.ecnBytes = ece ? bytesAcked : 0;
    pr.ecnPackets = ece ? Math.floor(bytesAcked / mss) : 0;
    pr.lostPktsSample = lost;
    fillFlowPrims(f, pr);
    pr.rttSampleUs = Math.round(rtt);
    pr.wasTimeout = false;
    net.inHook = f.index;
    net.hooks?.ack(f.index);
    net.inHook = -1;
  }
  if (Number.isFinite(f.appLimitPkts) && f.sndUna >= f.appLimitPkts) {
    f.finishedUs = now;
    net.stopFlow(f);
    return;
  }
  trySend(net, f);
}

/** The flow-level primitives (in flight, cwnd, pending bytes, rates) as ccp-kernel fills them. */
export function fillFlowPrims(f: FlowState, pr: SimPrimitives): void {
  pr.packetsInFlight = f.inflight;
  pr.bytesInFlight = f.inflight * f.mss;
  pr.sndCwnd = f.cwndPkts * f.mss;
  const written = Math.min(f.appLimitPkts - f.sndUna, Math.ceil(SNDBUF / f.mss)) * f.mss;
  pr.bytesPending = Math.min(written, 0xffffffff);
  pr.rateOutgoing = f.rateOut;
  pr.rateIncoming = f.rateIn;
  pr.sndRate = Math.floor(f.rateBytesPerSec);
}

/** One RTT sample: smoothed RTT, variance and the RTO (Linux's rule, see below). */
function rttSample(net: Network, f: FlowState, rtt: number): void {
  f.lastRtt = rtt;
  f.rttSamples.push(rtt);
  f.ivRttSum += rtt;
  f.ivRttN++;
  if (rtt < f.minRtt) f.minRtt = rtt;
  if (f.srtt === 0) {
    f.srtt = rtt;
    f.rttvar = rtt / 2;
  } else {
    const err = rtt - f.srtt;
    f.srtt += err / 8;
    f.rttvar += ((err < 0 ? -err : err) - f.rttvar) / 4;
  }
  const minRto = net.cfg.minRtoUs ?? 200_000;
  // Linux (tcp_rtt_estimator / __tcp_set_rto): the minimum bounds the variance term, so
  // RTO = srtt + max(4·rttvar, rto_min), not max(srtt + 4·rttvar, rto_min) as RFC 6298
  const v = 4 * f.rttvar;
  const r = f.srtt + (v < minRto ? minRto : v);
  f.rto = r > 60e6 ? 60e6 : r;
}
