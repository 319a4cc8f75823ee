/**
 * The retransmission timeout. The RTO is Linux's: srtt + max(4·rttvar, 200 ms) (RFC 6298 would
 * floor the sum instead), initial 1 s, doubling backoff up to 60 s. On timeout every outstanding
 * packet is marked lost and cwnd drops to 1 packet (as Linux does), then the congestion
 * controller is told.
 * @module
 */
import { EV_RTO } from './events.ts';
import { P_LOST, P_OUT, T_LOST, T_OUT } from './flow.ts';
import { fillFlowPrims } from './ack.ts';
import type { Network } from './network.ts';
import { armRto, trySend } from './sender.ts';

/** Flow `i`'s retransmission timer fired (EV_RTO): re-arm it if the deadline moved, else time out. */
export function onRtoTimer(net: Network, i: number): void {
  const f = net.flows[i]!;
  if (net.now !== f.rtoTimerAt) return; // superseded timer
  f.rtoTimerAt = Infinity;
  if (!f.active || f.rtoDeadline === 0) return;
  if (net.now < f.rtoDeadline) {
    f.rtoTimerAt = f.rtoDeadline;
    net.q.push(f.rtoDeadline, EV_RTO, i);
    return;
  }
  // timeout: everything outstanding is lost
  f.timeouts++;
  let lost = 0;
  const tm = f.txMask;
  for (let j = f.txScan; j < f.txNext; j++) if (f.tState[j & tm] === T_OUT) f.tState[j & tm] = T_LOST;
  f.txScan = f.txNext;
  f.txHigh = f.txNext - 1;
  const mask = f.seqMask;
  for (let s = f.sndUna; s < f.nextSeq; s++) {
    if (f.pState[s & mask] === P_OUT) {
      f.pState[s & mask] = P_LOST;
      f.lostOut++;
      lost++;
    }
  }
  f.inflight = 0;
  f.lostDetected += lost;
  net.log.add(net.now, i, 'timeout', lost);
  f.retxPtr = f.sndUna;
  f.backoff = Math.min(f.backoff * 2, 64);
  f.cwndPkts = 1;
  f.cwndBytes = f.mss;
  f.paceNext = net.now;
  const pr = net.prims[i]!;
  pr.bytesAcked = 0;
  pr.packetsAcked = 0;
  pr.bytesMisordered = 0;
  pr.packetsMisordered = 0;
  pr.ecnBytes = 0;
  pr.ecnPackets = 0;
  pr.lostPktsSample = lost;
  fillFlowPrims(f, pr);
  pr.rttSampleUs = Math.round(f.lastRtt);
  pr.wasTimeout = true;
  net.inHook = i;
  net.hooks?.timeout(i);
  net.inHook = -1;
  pr.wasTimeout = false;
  armRto(net, f);
  trySend(net, f);
}
