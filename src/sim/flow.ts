/**
 * Per-flow state of the simulated network: the sender's scoreboard and transmission log, its
 * control, RTT/RTO and rate-sample state, the receiver, and the counters metrics read. Typed
 * arrays that grow by doubling, so the per-packet path does not allocate.
 * @module
 */

/** One flow. */
export interface FlowConfig {
  /** Propagation round-trip time in µs. */
  rttUs: number;
  /** Start time in µs. */
  startUs: number;
  /** Stop time in µs (`Infinity`: runs to the end). */
  stopUs: number;
  /** Bytes to transfer (`Infinity`: bulk). */
  bytes: number;
  /** Payload bytes per packet (the wire adds the network's `headerBytes`). */
  mss: number;
  /** Initial congestion window in bytes. */
  initCwndBytes: number;
}

/** Sender scoreboard states per packet sequence number. */
export const P_NONE = 0;
export const P_OUT = 1; // latest transmission in flight
export const P_SACKED = 2;
export const P_LOST = 3; // marked lost, waiting for retransmission

/** Transmission states. */
export const T_OUT = 0;
export const T_DELIVERED = 1;
export const T_LOST = 2;

/** Approximate Linux default send buffer: bytes the application keeps written ahead. */
export const SNDBUF = 4 * 1024 * 1024;

/** A growable Float32Array of samples. */
export class SampleBuffer {
  data = new Float32Array(1024);
  length = 0;
  /** Append one value. */
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Float32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
  /** The samples from index `from` on, sorted ascending (a copy). */
  sorted(from = 0): Float32Array {
    return this.data.slice(Math.min(from, this.length), this.length).sort();
  }
}

/** Per-flow sender + receiver state (internal; read-only for callers). */
export class FlowState {
  readonly index: number;
  readonly cfg: FlowConfig;
  readonly mss: number;
  /** Bytes on the wire per packet: mss + the network's header bytes. */
  readonly wire: number;
  started = false;
  active = false;
  stopped = false;
  finishedUs = NaN;
  startedUs = NaN;
  stoppedUs = NaN;
  // number-valued fields get a number initialiser: a field declared bare starts as undefined
  // (ES2022 class fields), so V8 would keep it tagged and box every double stored into it
  appLimitPkts = 0;

  // sequence scoreboard (ring over seq & seqMask)
  seqCap = 256;
  seqMask = 255;
  pState = new Uint8Array(256);
  pTx = new Int32Array(256);
  rOoo = new Uint8Array(256); // receiver: out-of-order packet held
  nextSeq = 0;
  sndUna = 0;
  inflight = 0;
  sackedOut = 0;
  lostOut = 0;
  retxPtr = 0;

  // transmission log (ring over tx & txMask)
  txCap = 256;
  txMask = 255;
  tSeq = new Int32Array(256);
  tState = new Uint8Array(256);
  tSent = new Float64Array(256);
  tDelivered = new Float64Array(256);
  tDeliveredTime = new Float64Array(256);
  tFirstSent = new Float64Array(256);
  tHoleD = new Float64Array(256);
  txNext = 0;
  txScan = 0;
  txHigh = -1;
  dCount = 0;

  // control: the window is whole packets, as ccp-kernel's snd_cwnd (see Network.setCwnd)
  /** `cwndPkts × mss`: the window in bytes, as the datapath reads it back (`snd_cwnd`). */
  cwndBytes = 0;
  cwndPkts = 1;
  /** Window right after the latest cut (the visible ssthresh); NaN before any. */
  lastCutTo = NaN;
  rateBytesPerSec = 0;
  paceNext = 0;
  sendTimerAt = Infinity;

  // RTT / RTO
  srtt = 0;
  rttvar = 0;
  minRtt = Infinity;
  rto = 0;
  backoff = 1;
  rtoDeadline = 0;
  rtoTimerAt = Infinity;
  lastRtt = 0;

  // rate sample (Linux tcp_rate)
  delivered = 0;
  deliveredTime = 0;
  firstSentTime = 0;
  rateOut = 0;
  rateIn = 0;

  // receiver
  rcvNext = 0;
  /** Out-of-order packets held by the receiver. */
  rcvOoo = 0;
  /** Delayed ACK: the packet whose ACK is being held (-1: none), in-order packets not yet ACKed. */
  rcvHeld = -1;
  rcvUnacked = 0;
  delackAt = Infinity;

  // access link: when the sender's NIC is free again
  nicFreeAt = 0;

  // counters
  sentPkts = 0;
  sentBytes = 0;
  retransPkts = 0;
  droppedPkts = 0;
  lostDetected = 0;
  timeouts = 0;
  rcvBytes = 0; // every arrival at the receiver, duplicates included
  goodputBytes = 0; // unique data delivered to the receiver
  ackedBytes = 0;

  // per-interval accumulators for the time series
  ivRttSum = 0;
  ivRttN = 0;
  ivGoodput = 0;

  readonly rttSamples = new SampleBuffer();
  readonly qdelaySamples = new SampleBuffer();

  constructor(index: number, cfg: FlowConfig, initialRtoUs: number, headerBytes = 0) {
    this.index = index;
    this.cfg = cfg;
    this.mss = cfg.mss;
    this.wire = cfg.mss + headerBytes;
    this.appLimitPkts = Number.isFinite(cfg.bytes) ? Math.ceil(cfg.bytes / cfg.mss) : Infinity;
    this.cwndPkts = Math.max(1, Math.floor(cfg.initCwndBytes / cfg.mss));
    this.cwndBytes = this.cwndPkts * cfg.mss;
    this.rto = initialRtoUs;
  }

  /** Double the sequence ring (keeps the live range [sndUna, nextSeq) and receiver state). */
  growSeq(): void {
    const oldCap = this.seqCap;
    const cap = oldCap * 2;
    const mask = cap - 1;
    const ps = new Uint8Array(cap);
    const pt = new Int32Array(cap);
    const ro = new Uint8Array(cap);
    const lo = Math.min(this.sndUna, this.rcvNext);
    for (let s = lo; s < this.nextSeq; s++) {
      ps[s & mask] = this.pState[s & this.seqMask]!;
      pt[s & mask] = this.pTx[s & this.seqMask]!;
      ro[s & mask] = this.rOoo[s & this.seqMask]!;
    }
    this.pState = ps;
    this.pTx = pt;
    this.rOoo = ro;
    this.seqCap = cap;
    this.seqMask = mask;
  }

  /** Double the transmission ring (keeps [txNext - oldCap, txNext)). */
  growTx(): void {
    const oldCap = this.txCap;
    const oldMask = this.txMask;
    const cap = oldCap * 2;
    const mask = cap - 1;
    const seq = new Int32Array(cap);
    const st = new Uint8Array(cap);
    const sent = new Float64Array(cap);
    const del = new Float64Array(cap);
    const delT = new Float64Array(cap);
    const first = new Float64Array(cap);
    const hole = new Float64Array(cap);
    for (let t = Math.max(0, this.txNext - oldCap); t < this.txNext; t++) {
      const o = t & oldMask;
      const n = t & mask;
      seq[n] = this.tSeq[o]!;
      st[n] = this.tState[o]!;
      sent[n] = this.tSent[o]!;
      del[n] = this.tDelivered[o]!;
      delT[n] = this.tDeliveredTime[o]!;
      first[n] = this.tFirstSent[o]!;
      hole[n] = this.tHoleD[o]!;
    }
    this.tSeq = seq;
    this.tState = st;
    this.tSent = sent;
    this.tDelivered = del;
    this.tDeliveredTime = delT;
    this.tFirstSent = first;
    this.tHoleD = hole;
    this.txCap = cap;
    this.txMask = mask;
  }
}
