/**
 * The receiver side of a simulated flow: reassembly (cumulative ACK point and out-of-order
 * packets) and ACKs — every packet ACKed at once, or delayed ACKs (every `every`-th in-order
 * packet, or `timeoutUs` after the first unACKed one; out-of-order, duplicate and hole-filling
 * packets are ACKed at once, as Linux and ns-3 do). An ACK carries the cumulative ACK plus the
 * identity of the packet that triggered it (the SACK information) and its ECN mark (echoed as
 * ECE); it reaches the sender one propagation RTT later.
 * @module
 */
import { EV_ACK, EV_DELACK } from './events.ts';
import type { FlowState } from './flow.ts';
import type { Network } from './network.ts';

/** The receiver gets packet `p`: reassembly, then an ACK now or (delayed ACKs) later. */
export function receive(net: Network, f: FlowState, p: number): void {
  const seq = net.pk.seq[p]!;
  const payload = f.mss;
  const before = f.rcvNext;
  f.rcvBytes += payload;
  if (seq >= f.rcvNext) {
    const m = f.seqMask;
    if (seq === f.rcvNext) {
      f.goodputBytes += payload;
      f.ivGoodput += payload;
      f.rcvNext++;
      while (f.rOoo[f.rcvNext & m] === 1) {
        f.rOoo[f.rcvNext & m] = 0;
        f.rcvOoo--;
        f.rcvNext++;
      }
    } else if (f.rOoo[seq & m] === 0) {
      f.rOoo[seq & m] = 1;
      f.rcvOoo++;
      f.goodputBytes += payload;
      f.ivGoodput += payload;
    }
  }
  const d = net.cfg.delayedAck;
  // in order, no hole before or after it: the only case an ACK may wait
  const plain = seq === before && f.rcvNext === before + 1 && f.rcvOoo === 0;
  if (d === undefined || !plain || ++f.rcvUnacked >= d.every) {
    sendAck(net, f, p);
    return;
  }
  if (f.rcvHeld >= 0) mergeHeld(net, f, p);
  f.rcvHeld = p;
  if (f.delackAt === Infinity) {
    f.delackAt = net.now + d.timeoutUs;
    net.q.push(f.delackAt, EV_DELACK, f.index);
  }
}

/** Drop the held packet's own ACK: `p`'s cumulative ACK covers it (its CE mark carries over). */
function mergeHeld(net: Network, f: FlowState, p: number): void {
  const h = f.rcvHeld;
  const mark = net.pk.mark;
  if (mark[h] === 1) mark[p] = 1;
  net.pk.release(h);
  f.rcvHeld = -1;
}

/** ACK packet `p` (cumulative ACK + its own identity as SACK), covering any held packet. */
function sendAck(net: Network, f: FlowState, p: number): void {
  if (f.rcvHeld >= 0) mergeHeld(net, f, p);
  f.rcvUnacked = 0;
  f.delackAt = Infinity;
  net.pk.cum[p] = f.rcvNext;
  net.q.push(net.now + f.cfg.rttUs, EV_ACK, p);
}

/** The delayed-ACK timer of flow `f` fired (EV_DELACK): ACK the held packet, if still due. */
export function onDelackTimer(net: Network, f: FlowState): void {
  if (net.now !== f.delackAt) return; // superseded: an ACK went out since
  f.delackAt = Infinity;
  const h = f.rcvHeld;
  if (h < 0) return;
  f.rcvHeld = -1;
  sendAck(net, f, h);
}
