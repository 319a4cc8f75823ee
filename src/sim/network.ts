/**
 * The simulated network: N TCP-like senders -> one bottleneck link (constant rate or a mahimahi
 * trace; drop-tail buffer, optional ECN marking and random loss) -> receivers -> ACK path back.
 *
 * Model (documented in docs/sim.md):
 * - Times are microseconds (floating point) on the simulated clock.
 * - A sender's packet enters the bottleneck queue the instant it is sent. The receiver sees it
 *   when it leaves the link; the ACK reaches the sender one propagation RTT (the flow's `rttUs`)
 *   later. So RTT = propagation RTT + queueing + transmission time.
 * - Queue occupancy counts every packet from enqueue until it has left the link (the packet in
 *   service included); a packet is dropped if it would push occupancy above the buffer.
 * - Receivers acknowledge every packet with a cumulative ACK plus the identity of the packet
 *   that triggered it (the SACK information) and its ECN mark (echoed as ECE).
 * - Senders keep a scoreboard per packet and a log per transmission. A transmission is lost
 *   when 3 later transmissions have been delivered (duplicate-ACK threshold) or when a packet
 *   sent more than minRTT/4 after it has been delivered (time based, RACK-like). Lost packets
 *   are retransmitted before new data. The retransmission timeout is Linux's: srtt + max(4·rttvar,
 *   200 ms) (RFC 6298 would floor the sum instead), initial 1 s, doubling backoff up to 60 s; on
 *   timeout every outstanding packet is marked lost and cwnd drops to 1 packet (as Linux does),
 *   then the congestion controller is told.
 * - Sending is limited by cwnd (packets in flight < floor(cwnd / MSS), at least 1) and, when a
 *   rate is set, paced at that rate.
 *
 * Nothing on the per-packet path allocates: packets, transmissions and events live in typed
 * arrays that grow by doubling.
 * @module
 */
import { zeroPrimitives, type Primitives } from '../datapath/index.ts';
import { EventQueue } from './events.ts';
import { EventLog } from './events-log.ts';
import { createRng, type Rng } from './rng.ts';
import {
  FlowState,
  P_LOST,
  P_NONE,
  P_OUT,
  P_SACKED,
  SampleBuffer,
  SNDBUF,
  T_DELIVERED,
  T_LOST,
  T_OUT,
  type FlowConfig,
} from './flow.ts';
import type { Trace } from './trace.ts';

export { FlowState, SampleBuffer, type FlowConfig } from './flow.ts';

/** The bottleneck: a constant rate or a trace. */
export interface LinkConfig {
  /** Constant rate in bit/s (ignored when `trace` is given). */
  rateBps?: number;
  /** Mahimahi trace (one 1500-byte opportunity per line). */
  trace?: Trace;
}

/** Everything the network needs. */
export interface NetworkConfig {
  link: LinkConfig;
  /** Buffer in bytes (queue occupancy limit, packet in service included). */
  bufferBytes: number;
  /** Mark CE when the queue holds more than this many bytes at enqueue (`Infinity`: off). */
  ecnThresholdBytes: number;
  /** Random loss probability per packet at the bottleneck, in [0, 1]. */
  lossRate: number;
  /**
   * Where random loss happens (default 'before-queue'): 'after-queue' drops a packet once it has
   * left the bottleneck (it used link capacity), as ns-3's receive error model does.
   */
  lossPlacement?: 'before-queue' | 'after-queue';
  /**
   * Rate of each sender's access link (its NIC), bit/s: a window's packets serialise at this
   * rate on their way to the bottleneck instead of arriving there all at once (default: none).
   */
  accessRateBps?: number;
  /**
   * Delayed ACKs (default: every packet ACKed at once): the receiver ACKs every `every`-th
   * in-order packet, or `timeoutUs` after the first unACKed one; out-of-order, duplicate and
   * hole-filling packets are ACKed at once (as Linux and ns-3 do).
   */
  delayedAck?: { every: number; timeoutUs: number };
  /** Header bytes per packet on the wire; each flow's `mss` is payload (default 0). */
  headerBytes?: number;
  seed: number;
  flows: FlowConfig[];
  /** Simulated duration in µs. */
  durationUs: number;
  /** Time-series sampling interval in µs. */
  sampleIntervalUs: number;
  /** Minimum RTO in µs (default 200 ms). */
  minRtoUs?: number;
  /** Initial RTO in µs (default 1 s). */
  initialRtoUs?: number;
  /**
   * Scripted losses: return true to drop this transmission at the bottleneck (counted as a
   * random drop). `retransmission` is true for a resend. For tests and scripted scenarios.
   */
  dropFilter?: (flow: number, seq: number, retransmission: boolean) => boolean;
}

/**
 * The per-ACK measurements: the datapath's own `Primitives` (datapath-machine.md §1.3), filled as
 * ccp-kernel does (algorithms.md §1).
 */
export type SimPrimitives = Primitives;

/** Congestion-control hooks: called with the flow index; primitives are in `net.prims[flow]`. */
export interface FlowHooks {
  /** The flow starts (before its first packet). */
  start?(flow: number): void;
  /** An ACK that delivered data was processed (kernel: a valid rate sample). */
  ack(flow: number): void;
  /** A retransmission timeout fired (`wasTimeout` is true in the primitives). */
  timeout(flow: number): void;
  /** The flow stopped (stop time reached or all its bytes acknowledged). */
  stop?(flow: number): void;
}

const EV_SEND = 1;
const EV_DEPART = 2;
const EV_ACK = 3;
const EV_RTO = 4;
const EV_START = 5;
const EV_STOP = 6;
const EV_SAMPLE = 7;
const EV_CALL = 8;
const EV_ARRIVE = 9;
const EV_DELACK = 10;

/** Time series sampled every `sampleIntervalUs` (index k is time (k + 1) × interval). */
export interface TimeSeries {
  /** Sample times in seconds. */
  t: Float64Array;
  /** Per flow: congestion window in bytes. */
  cwnd: Float64Array[];
  /** Per flow: pacing rate in bit/s (0 = not paced). */
  rate: Float64Array[];
  /**
   * Per flow: the slow-start threshold as the simulator can see it — the window right after the
   * latest cut (what Reno and Cubic set ssthresh to); NaN before the first cut.
   */
  ssthresh: Float64Array[];
  /** Per flow: the rate the flow is sending at — its pacing rate if set, else cwnd / smoothed RTT, bit/s. */
  sendRate: Float64Array[];
  /** Per flow: goodput over the interval in bit/s (NaN before the flow starts and after it is done). */
  throughput: Float64Array[];
  /** Per flow: mean RTT sample in the interval, ms (NaN if none). */
  rtt: Float64Array[];
  /** Queue occupancy at the sample time, bytes. */
  queueBytes: Float64Array;
  /** Mean queueing delay of packets entering service in the interval, ms (NaN if none). */
  queueDelay: Float64Array;
  /** Link throughput over the interval in bit/s. */
  linkThroughput: Float64Array;
  /** Number of samples taken so far. */
  length: number;
}

/** Counters at the start of the metrics window (see {@link Network.markWindow}). */
export interface WindowMark {
  timeUs: number;
  linkBytes: number;
  tailDrops: number;
  randomDrops: number;
  ecnMarks: number;
  qdelaySamples: number;
  flows: {
    goodputBytes: number;
    sentPkts: number;
    retransPkts: number;
    droppedPkts: number;
    lostDetected: number;
    timeouts: number;
    rttSamples: number;
    qdelaySamples: number;
  }[];
}

/** The simulated network. Create, attach hooks with {@link setHooks}, then {@link runUntil}. */
export class Network {
  readonly cfg: NetworkConfig;
  readonly flows: FlowState[];
  /** Per-flow primitives, refilled before each hook call. */
  readonly prims: SimPrimitives[];
  readonly series: TimeSeries;
  /** Current simulated time in µs. */
  now = 0;
  /** Number of events processed. */
  eventsProcessed = 0;
  /** Losses detected, timeouts and window cuts (see events-log.ts). */
  readonly log = new EventLog();
  /** Counters when the metrics window opened ({@link markWindow}); null: the whole run. */
  window: WindowMark | null = null;

  private readonly q: EventQueue;
  private readonly rng: Rng;
  private hooks: FlowHooks | null = null;
  private inHook = -1;

  // packet pool
  private pCap = 1024;
  private pkFlow = new Int32Array(1024);
  private pkSeq = new Int32Array(1024);
  private pkTx = new Int32Array(1024);
  private pkSize = new Int32Array(1024);
  private pkEnq = new Float64Array(1024);
  private pkMark = new Uint8Array(1024);
  private pkCum = new Int32Array(1024);
  private pkRetx = new Uint8Array(1024);
  private pkFree = new Int32Array(1024);
  private pkFreeN = 0;
  private pkUsed = 0;

  // bottleneck queue
  private qBuf = new Int32Array(1024);
  private qHead = 0;
  private qLen = 0;
  /** Bytes in the bottleneck (waiting + in service). */
  queueBytes = 0;
  private busy = false;
  private readonly rateBps: number;
  private readonly accessRateBps: number;
  private readonly lossAfterQueue: boolean;
  private readonly trace: Trace | undefined;
  private oppNext = 0;

  // link counters
  /** Bytes that left the bottleneck. */
  linkBytes = 0;
  linkPkts = 0;
  tailDrops = 0;
  randomDrops = 0;
  ecnMarks = 0;
  opportunitiesUsed = 0;
  readonly qdelaySamples = new SampleBuffer();
  private ivLinkBytes = 0;
  private ivQdSum = 0;
  private ivQdN = 0;
  private maxQueueBytes = 0;

  // external callbacks (IPC deliveries)
  private calls: (() => void)[] = [];
  private callFree: number[] = [];

  constructor(cfg: NetworkConfig) {
    this.cfg = cfg;
    this.q = new EventQueue(4096);
    this.rng = createRng(cfg.seed);
    this.trace = cfg.link.trace;
    this.rateBps = cfg.link.rateBps ?? 0;
    const initialRto = cfg.initialRtoUs ?? 1_000_000;
    this.flows = cfg.flows.map((f, i) => new FlowState(i, f, initialRto, cfg.headerBytes ?? 0));
    this.accessRateBps =
      cfg.accessRateBps !== undefined && cfg.accessRateBps > 0 ? cfg.accessRateBps : Infinity;
    this.lossAfterQueue = cfg.lossPlacement === 'after-queue';
    this.prims = cfg.flows.map(() => zeroPrimitives());
    const n = Math.max(0, Math.floor(cfg.durationUs / cfg.sampleIntervalUs + 1e-9));
    const per = (): Float64Array[] => cfg.flows.map(() => new Float64Array(n));
    this.series = {
      t: new Float64Array(n),
      cwnd: per(),
      rate: per(),
      ssthresh: per(),
      sendRate: per(),
      throughput: per(),
      rtt: per(),
      queueBytes: new Float64Array(n),
      queueDelay: new Float64Array(n),
      linkThroughput: new Float64Array(n),
      length: 0,
    };
    for (let i = 0; i < cfg.flows.length; i++) {
      const f = cfg.flows[i]!;
      this.q.push(f.startUs, EV_START, i);
      if (Number.isFinite(f.stopUs)) this.q.push(f.stopUs, EV_STOP, i);
    }
    if (n > 0) this.q.push(cfg.sampleIntervalUs, EV_SAMPLE, 1);
  }

  /** Attach the congestion-control hooks (before running). */
  setHooks(h: FlowHooks): void {
    this.hooks = h;
  }

  /** Set a flow's congestion window in bytes (the datapath's set_cwnd). */
  setCwnd(flow: number, bytes: number): void {
    const f = this.flows[flow]!;
    if (bytes < f.cwndBytes && f.active) {
      this.log.add(this.now, flow, 'cut', f.cwndBytes, bytes);
      f.lastCutTo = bytes;
    }
    f.cwndBytes = bytes;
    f.cwndPkts = Math.max(1, Math.floor(bytes / f.mss));
    if (this.inHook !== flow) this.trySend(f);
  }

  /** Set a flow's pacing rate in bytes/s; 0 disables pacing (the datapath's set_rate_abs). */
  setRate(flow: number, bytesPerSec: number): void {
    const f = this.flows[flow]!;
    f.rateBytesPerSec = bytesPerSec > 0 ? bytesPerSec : 0;
    if (this.inHook !== flow) this.trySend(f);
  }

  /** Run `fn` at simulated time `time` (used for IPC deliveries). Allocates; not for per-packet use. */
  schedule(time: number, fn: () => void): void {
    let id: number;
    if (this.callFree.length > 0) {
      id = this.callFree.pop()!;
      this.calls[id] = fn;
    } else {
      id = this.calls.length;
      this.calls.push(fn);
    }
    this.q.push(Math.max(time, this.now), EV_CALL, id);
  }

  /** Time of the next pending event (`Infinity` if none). */
  nextEventTime(): number {
    return this.q.peekTime();
  }

  /** Process every event with time ≤ `t` (capped at the configured duration), then set now = t. */
  runUntil(t: number): void {
    const end = Math.min(t, this.cfg.durationUs);
    const q = this.q;
    while (q.size > 0 && q.peekTime() <= end) {
      const kind = q.pop();
      this.now = q.time;
      this.eventsProcessed++;
      const a = q.arg;
      switch (kind) {
        case EV_DEPART:
          this.onDepart();
          break;
        case EV_ARRIVE:
          this.arrive(a);
          break;
        case EV_DELACK:
          this.onDelackTimer(this.flows[a]!);
          break;
        case EV_ACK:
          this.onAck(a);
          break;
        case EV_SEND: {
          const f = this.flows[a]!;
          if (f.sendTimerAt === this.now) {
            f.sendTimerAt = Infinity;
            this.trySend(f);
          }
          break;
        }
        case EV_RTO:
          this.onRtoTimer(a);
          break;
        case EV_START:
          this.onStart(a);
          break;
        case EV_STOP:
          this.stopFlow(this.flows[a]!);
          break;
        case EV_SAMPLE:
          // a sample closes the interval ending now: let every other event at this instant run first
          if (q.peekTime() === this.now) q.push(this.now, EV_SAMPLE, a);
          else this.onSample(a);
          break;
        case EV_CALL: {
          const fn = this.calls[a]!;
          this.calls[a] = noop;
          this.callFree.push(a);
          fn();
          break;
        }
      }
    }
    if (end > this.now) this.now = end;
  }

  /** True when simulated time has reached the configured duration. */
  get done(): boolean {
    return this.now >= this.cfg.durationUs;
  }

  /** Packets currently in the bottleneck (waiting or in service). */
  get queuePackets(): number {
    return this.qLen;
  }

  /** Largest queue occupancy seen (since {@link markWindow}, if called), bytes. */
  get maxQueue(): number {
    return this.maxQueueBytes;
  }

  /**
   * Open the metrics window now (`--warmup`): remember every counter and sample count so the
   * summary covers [now, end] only.
   */
  markWindow(): void {
    this.window = {
      timeUs: this.now,
      linkBytes: this.linkBytes,
      tailDrops: this.tailDrops,
      randomDrops: this.randomDrops,
      ecnMarks: this.ecnMarks,
      qdelaySamples: this.qdelaySamples.length,
      flows: this.flows.map((f) => ({
        goodputBytes: f.goodputBytes,
        sentPkts: f.sentPkts,
        retransPkts: f.retransPkts,
        droppedPkts: f.droppedPkts,
        lostDetected: f.lostDetected,
        timeouts: f.timeouts,
        rttSamples: f.rttSamples.length,
        qdelaySamples: f.qdelaySamples.length,
      })),
    };
    this.maxQueueBytes = this.queueBytes;
  }

  // ---------------------------------------------------------------- flows

  private onStart(i: number): void {
    const f = this.flows[i]!;
    if (f.started) return;
    f.started = true;
    f.active = true;
    f.startedUs = this.now;
    f.deliveredTime = this.now;
    f.firstSentTime = this.now;
    this.inHook = i;
    this.hooks?.start?.(i);
    this.inHook = -1;
    this.trySend(f);
  }

  private stopFlow(f: FlowState): void {
    if (!f.active) return;
    f.active = false;
    f.stopped = true;
    f.stoppedUs = this.now;
    f.rtoDeadline = 0;
    this.hooks?.stop?.(f.index);
  }

  /** Send as much as cwnd, pacing and the application allow. */
  private trySend(f: FlowState): void {
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
      if (f.rateBytesPerSec > 0 && this.now < f.paceNext) {
        if (f.sendTimerAt > f.paceNext) {
          f.sendTimerAt = f.paceNext;
          this.q.push(f.paceNext, EV_SEND, f.index);
        }
        return;
      }
      if (!retrans) {
        if (f.nextSeq - f.sndUna >= f.seqCap - 1) f.growSeq();
        f.nextSeq++;
      }
      this.transmit(f, seq, retrans);
    }
  }

  private transmit(f: FlowState, seq: number, retrans: boolean): void {
    const now = this.now;
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
    if (f.rtoDeadline === 0) this.armRto(f);
    const p = this.allocPacket();
    this.pkFlow[p] = f.index;
    this.pkSeq[p] = seq;
    this.pkTx[p] = tx;
    this.pkSize[p] = size;
    this.pkRetx[p] = retrans ? 1 : 0;
    if (this.accessRateBps === Infinity) this.arrive(p);
    else {
      // the access link: serialise behind the sender's earlier packets, then reach the bottleneck
      const start = f.nicFreeAt > now ? f.nicFreeAt : now;
      f.nicFreeAt = start + (size * 8e6) / this.accessRateBps;
      this.q.push(f.nicFreeAt, EV_ARRIVE, p);
    }
  }

  // ---------------------------------------------------------------- link

  private allocPacket(): number {
    if (this.pkFreeN > 0) return this.pkFree[--this.pkFreeN]!;
    if (this.pkUsed === this.pCap) this.growPackets();
    return this.pkUsed++;
  }

  private freePacket(p: number): void {
    this.pkFree[this.pkFreeN++] = p;
  }

  private growPackets(): void {
    const c = this.pCap * 2;
    const gi = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(c);
      b.set(a);
      return b;
    };
    this.pkFlow = gi(this.pkFlow);
    this.pkSeq = gi(this.pkSeq);
    this.pkTx = gi(this.pkTx);
    this.pkSize = gi(this.pkSize);
    this.pkCum = gi(this.pkCum);
    const r = new Uint8Array(c);
    r.set(this.pkRetx);
    this.pkRetx = r;
    this.pkFree = gi(this.pkFree);
    const e = new Float64Array(c);
    e.set(this.pkEnq);
    this.pkEnq = e;
    const m = new Uint8Array(c);
    m.set(this.pkMark);
    this.pkMark = m;
    this.pCap = c;
  }

  /** Packet `p` reaches the bottleneck: scripted/random loss, tail drop, or the queue. */
  private arrive(p: number): void {
    const cfg = this.cfg;
    const f = this.flows[this.pkFlow[p]!]!;
    const size = this.pkSize[p]!;
    if (
      (cfg.lossRate > 0 && !this.lossAfterQueue && this.rng.next() < cfg.lossRate) ||
      (cfg.dropFilter !== undefined && cfg.dropFilter(f.index, this.pkSeq[p]!, this.pkRetx[p] === 1))
    ) {
      this.randomDrops++;
      f.droppedPkts++;
      this.freePacket(p);
      return;
    }
    if (this.queueBytes + size > cfg.bufferBytes) {
      this.tailDrops++;
      f.droppedPkts++;
      this.freePacket(p);
      return;
    }
    this.pkEnq[p] = this.now;
    let mark = 0;
    if (this.queueBytes > cfg.ecnThresholdBytes) {
      mark = 1;
      this.ecnMarks++;
    }
    this.pkMark[p] = mark;
    if (this.qLen === this.qBuf.length) this.growQueue();
    this.qBuf[(this.qHead + this.qLen) & (this.qBuf.length - 1)] = p;
    this.qLen++;
    this.queueBytes += size;
    if (this.queueBytes > this.maxQueueBytes) this.maxQueueBytes = this.queueBytes;
    if (!this.busy) this.startService();
  }

  private growQueue(): void {
    const old = this.qBuf;
    const n = new Int32Array(old.length * 2);
    for (let i = 0; i < this.qLen; i++) n[i] = old[(this.qHead + i) & (old.length - 1)]!;
    this.qBuf = n;
    this.qHead = 0;
  }

  /** Index of the next unused trace opportunity at or after `t` (µs). */
  private nextOpportunity(t: number): number {
    const tr = this.trace!;
    const ts = tr.opportunitiesMs;
    const n = ts.length;
    const tms = t / 1000;
    let idx = this.oppNext;
    const oppTime = Math.floor(idx / n) * tr.periodMs + ts[idx % n]!;
    if (oppTime < tms) {
      // jump: first opportunity with time >= tms
      const cycle = Math.floor(tms / tr.periodMs);
      const rem = tms - cycle * tr.periodMs;
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (ts[mid]! < rem) lo = mid + 1;
        else hi = mid;
      }
      const j = cycle * n + lo;
      if (j > idx) idx = j;
    }
    return idx;
  }

  private startService(): void {
    const p = this.qBuf[this.qHead]!;
    let depart: number;
    if (this.trace) {
      const idx = this.nextOpportunity(this.now);
      this.oppNext = idx + 1;
      this.opportunitiesUsed++;
      const tr = this.trace;
      const n = tr.opportunitiesMs.length;
      depart = (Math.floor(idx / n) * tr.periodMs + tr.opportunitiesMs[idx % n]!) * 1000;
      if (depart < this.now) depart = this.now;
    } else {
      depart = this.now + (this.pkSize[p]! * 8e6) / this.rateBps;
    }
    const wait = (this.trace ? depart : this.now) - this.pkEnq[p]!;
    this.qdelaySamples.push(wait);
    this.flows[this.pkFlow[p]!]!.qdelaySamples.push(wait);
    this.ivQdSum += wait;
    this.ivQdN++;
    this.busy = true;
    this.q.push(depart, EV_DEPART, 0);
  }

  private onDepart(): void {
    const mask = this.qBuf.length - 1;
    const p = this.qBuf[this.qHead]!;
    this.qHead = (this.qHead + 1) & mask;
    this.qLen--;
    const size = this.pkSize[p]!;
    this.queueBytes -= size;
    this.linkBytes += size;
    this.linkPkts++;
    this.ivLinkBytes += size;
    this.busy = false;
    if (this.qLen > 0) this.startService();
    const f = this.flows[this.pkFlow[p]!]!;
    if (this.lossAfterQueue && this.cfg.lossRate > 0 && this.rng.next() < this.cfg.lossRate) {
      // lost on the far side of the link (as ns-3's receive error model): capacity was used
      this.randomDrops++;
      f.droppedPkts++;
      this.freePacket(p);
      return;
    }
    this.receive(f, p);
  }

  // ---------------------------------------------------------------- receiver

  /** The receiver gets packet `p`: reassembly, then an ACK now or (delayed ACKs) later. */
  private receive(f: FlowState, p: number): void {
    const seq = this.pkSeq[p]!;
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
    const d = this.cfg.delayedAck;
    // in order, no hole before or after it: the only case an ACK may wait
    const plain = seq === before && f.rcvNext === before + 1 && f.rcvOoo === 0;
    if (d === undefined || !plain || ++f.rcvUnacked >= d.every) {
      this.sendAck(f, p);
      return;
    }
    if (f.rcvHeld >= 0) this.mergeHeld(f, p);
    f.rcvHeld = p;
    if (f.delackAt === Infinity) {
      f.delackAt = this.now + d.timeoutUs;
      this.q.push(f.delackAt, EV_DELACK, f.index);
    }
  }

  /** Drop the held packet's own ACK: `p`'s cumulative ACK covers it (its CE mark carries over). */
  private mergeHeld(f: FlowState, p: number): void {
    const h = f.rcvHeld;
    if (this.pkMark[h] === 1) this.pkMark[p] = 1;
    this.freePacket(h);
    f.rcvHeld = -1;
  }

  /** ACK packet `p` (cumulative ACK + its own identity as SACK), covering any held packet. */
  private sendAck(f: FlowState, p: number): void {
    if (f.rcvHeld >= 0) this.mergeHeld(f, p);
    f.rcvUnacked = 0;
    f.delackAt = Infinity;
    this.pkCum[p] = f.rcvNext;
    this.q.push(this.now + f.cfg.rttUs, EV_ACK, p);
  }

  private onDelackTimer(f: FlowState): void {
    if (this.now !== f.delackAt) return; // superseded: an ACK went out since
    f.delackAt = Infinity;
    const h = f.rcvHeld;
    if (h < 0) return;
    f.rcvHeld = -1;
    this.sendAck(f, h);
  }

  // ---------------------------------------------------------------- ACK processing

  private onAck(p: number): void {
    const f = this.flows[this.pkFlow[p]!]!;
    const seq = this.pkSeq[p]!;
    const tx = this.pkTx[p]!;
    const cum = this.pkCum[p]!;
    const ece = this.pkMark[p] === 1;
    this.freePacket(p);
    if (!f.active) return;
    const now = this.now;
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
    if (lost > 0) this.log.add(now, f.index, 'loss', lost);

    if (rtt > 0) this.rttSample(f, rtt);
    if (advanced) {
      f.backoff = 1;
      if (f.sndUna < f.nextSeq) this.armRto(f);
      else f.rtoDeadline = 0;
    }

    if (newlyDelivered > 0 && rtt > 0) {
      const pr = this.prims[f.index]!;
      const misordered = f.sackedOut > sackedBefore ? f.sackedOut - sackedBefore : 0;
      pr.bytesAcked = bytesAcked;
      pr.packetsMisordered = misordered;
      pr.bytesMisordered = misordered * mss;
      pr.packetsAcked = newlyDelivered - misordered > 0 ? newlyDelivered - misordered : 0;
      pr.ecnBytes = ece ? bytesAcked : 0;
      pr.ecnPackets = ece ? Math.floor(bytesAcked / mss) : 0;
      pr.lostPktsSample = lost;
      this.fillFlowPrims(f, pr);
      pr.rttSampleUs = Math.round(rtt);
      pr.wasTimeout = false;
      this.inHook = f.index;
      this.hooks?.ack(f.index);
      this.inHook = -1;
    }
    if (Number.isFinite(f.appLimitPkts) && f.sndUna >= f.appLimitPkts) {
      f.finishedUs = now;
      this.stopFlow(f);
      return;
    }
    this.trySend(f);
  }

  private fillFlowPrims(f: FlowState, pr: SimPrimitives): void {
    pr.packetsInFlight = f.inflight;
    pr.bytesInFlight = f.inflight * f.mss;
    pr.sndCwnd = f.cwndPkts * f.mss;
    const written = Math.min(f.appLimitPkts - f.sndUna, Math.ceil(SNDBUF / f.mss)) * f.mss;
    pr.bytesPending = Math.min(written, 0xffffffff);
    pr.rateOutgoing = f.rateOut;
    pr.rateIncoming = f.rateIn;
    pr.sndRate = Math.floor(f.rateBytesPerSec);
  }

  private rttSample(f: FlowState, rtt: number): void {
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
    const minRto = this.cfg.minRtoUs ?? 200_000;
    // Linux (tcp_rtt_estimator / __tcp_set_rto): the minimum bounds the variance term, so
    // RTO = srtt + max(4·rttvar, rto_min), not max(srtt + 4·rttvar, rto_min) as RFC 6298
    const v = 4 * f.rttvar;
    const r = f.srtt + (v < minRto ? minRto : v);
    f.rto = r > 60e6 ? 60e6 : r;
  }

  private armRto(f: FlowState): void {
    const rto = Math.min(f.rto * f.backoff, 60e6);
    f.rtoDeadline = this.now + rto;
    if (f.rtoTimerAt > f.rtoDeadline) {
      f.rtoTimerAt = f.rtoDeadline;
      this.q.push(f.rtoDeadline, EV_RTO, f.index);
    }
  }

  private onRtoTimer(i: number): void {
    const f = this.flows[i]!;
    if (this.now !== f.rtoTimerAt) return; // superseded timer
    f.rtoTimerAt = Infinity;
    if (!f.active || f.rtoDeadline === 0) return;
    if (this.now < f.rtoDeadline) {
      f.rtoTimerAt = f.rtoDeadline;
      this.q.push(f.rtoDeadline, EV_RTO, i);
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
    this.log.add(this.now, i, 'timeout', lost);
    f.retxPtr = f.sndUna;
    f.backoff = Math.min(f.backoff * 2, 64);
    f.cwndPkts = 1;
    f.cwndBytes = f.mss;
    f.paceNext = this.now;
    const pr = this.prims[i]!;
    pr.bytesAcked = 0;
    pr.packetsAcked = 0;
    pr.bytesMisordered = 0;
    pr.packetsMisordered = 0;
    pr.ecnBytes = 0;
    pr.ecnPackets = 0;
    pr.lostPktsSample = lost;
    this.fillFlowPrims(f, pr);
    pr.rttSampleUs = Math.round(f.lastRtt);
    pr.wasTimeout = true;
    this.inHook = i;
    this.hooks?.timeout(i);
    this.inHook = -1;
    pr.wasTimeout = false;
    this.armRto(f);
    this.trySend(f);
  }

  // ---------------------------------------------------------------- metrics

  private onSample(k: number): void {
    const s = this.series;
    const idx = k - 1;
    if (idx >= s.t.length) return;
    const dt = this.cfg.sampleIntervalUs / 1e6;
    s.t[idx] = this.now / 1e6;
    for (let i = 0; i < this.flows.length; i++) {
      const f = this.flows[i]!;
      s.cwnd[i]![idx] = f.active ? f.cwndBytes : NaN;
      s.rate[i]![idx] = f.active ? f.rateBytesPerSec * 8 : NaN;
      s.ssthresh[i]![idx] = f.active ? f.lastCutTo : NaN;
      s.sendRate[i]![idx] = !f.active
        ? NaN
        : f.rateBytesPerSec > 0
          ? f.rateBytesPerSec * 8
          : f.srtt > 0
            ? (f.cwndBytes * 8e6) / f.srtt
            : NaN;
      // no value before the flow starts, nor after it stopped once its last packets are in
      s.throughput[i]![idx] = !f.started || (f.stopped && f.ivGoodput === 0) ? NaN : (f.ivGoodput * 8) / dt;
      s.rtt[i]![idx] = f.ivRttN > 0 ? f.ivRttSum / f.ivRttN / 1000 : NaN;
      f.ivGoodput = 0;
      f.ivRttSum = 0;
      f.ivRttN = 0;
    }
    s.queueBytes[idx] = this.queueBytes;
    s.queueDelay[idx] = this.ivQdN > 0 ? this.ivQdSum / this.ivQdN / 1000 : NaN;
    s.linkThroughput[idx] = (this.ivLinkBytes * 8) / dt;
    this.ivQdSum = 0;
    this.ivQdN = 0;
    this.ivLinkBytes = 0;
    s.length = k;
    if (k < s.t.length) this.q.push((k + 1) * this.cfg.sampleIntervalUs, EV_SAMPLE, k + 1);
  }

  /** Totals for the conservation check: every sent packet is delivered, dropped or queued. */
  conservation(): { sentPkts: number; deliveredPkts: number; droppedPkts: number; queuedPkts: number } {
    let sent = 0;
    let dropped = 0;
    for (const f of this.flows) {
      sent += f.sentPkts;
      dropped += f.droppedPkts;
    }
    return { sentPkts: sent, deliveredPkts: this.linkPkts, droppedPkts: dropped, queuedPkts: this.qLen };
  }
}

function noop(): void {}
