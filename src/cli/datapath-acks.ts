/**
 * `portus datapath` flows and their synthetic ACKs: the primitives a flow's ACK number n carries
 * (the rules are printed by `portus datapath --help`).
 * @module
 */
import type { Connection, Primitives } from '../datapath/index.ts';

/** One flow of the standalone datapath. */
export interface FlowState {
  conn: Connection;
  acks: number;
  cwnd: number;
  rate: number;
  /** Last values printed, to report changes only. */
  shownCwnd: number;
  shownRate: number;
  /** A CHANGE_PROG from the (current) agent has been applied. */
  controlled: boolean;
}

/** What shapes the synthetic ACKs (the command's flags). */
export interface AckShape {
  mss: number;
  rttUs: number;
  rttStepUs: number;
  lossEvery: number;
  ecnEvery: number;
  timeoutEvery: number;
}

/** Fill `p` with the primitives of ACK number `n` of flow `f`. */
export function fillAck(p: Primitives, shape: AckShape, f: FlowState, n: number): void {
  const mss = shape.mss;
  const lost = shape.lossEvery > 0 && n % shape.lossEvery === 0;
  p.bytesAcked = lost ? 0 : mss;
  p.packetsAcked = lost ? 0 : 1;
  p.packetsMisordered = lost ? 1 : 0;
  p.bytesMisordered = lost ? mss : 0;
  p.lostPktsSample = lost ? 1 : 0;
  const ecn = shape.ecnEvery > 0 && n % shape.ecnEvery === 0;
  p.ecnPackets = ecn ? 1 : 0;
  p.ecnBytes = ecn ? mss : 0;
  p.wasTimeout = shape.timeoutEvery > 0 && n % shape.timeoutEvery === 0;
  const rtt = shape.rttUs + (n % 8) * shape.rttStepUs;
  p.rttSampleUs = rtt;
  p.sndCwnd = f.cwnd;
  p.sndRate = f.rate;
  p.bytesInFlight = f.cwnd;
  p.packetsInFlight = Math.floor(f.cwnd / mss);
  p.bytesPending = 0;
  const r = rtt > 0 ? Math.floor((f.cwnd * 1e6) / rtt) : 0;
  p.rateOutgoing = r;
  p.rateIncoming = r;
}
