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
 *
 * This file holds the configuration, the event loop and the flows' lifecycle; the parts of the
 * model live in packets.ts (packet slots), link.ts (the bottleneck), sender.ts (sending, pacing,
 * access link), receiver.ts (reassembly, delayed ACKs), ack.ts (ACK processing, loss detection,
 * RTT and rate samples), timeout.ts (the RTO) and series.ts (time series, metrics window).
 * @module
 */
import { zeroPrimitives, type Primitives } from '../datapath/index.ts';
import { onAck } from './ack.ts';
import {
  EV_ACK,
  EV_ARRIVE,
  EV_CALL,
  EV_DELACK,
  EV_DEPART,
  EV_RTO,
  EV_SAMPLE,
  EV_SEND,
  EV_START,
  EV_STOP,
  EventQueue,
} from './events.ts';
import { EventLog } from './events-log.ts';
import { FlowState, type FlowConfig, type SampleBuffer } from './flow.ts';
import { Bottleneck } from './link.ts';
import { PacketPool } from './packets.ts';
import { onDelackTimer, receive } from './receiver.ts';
import { createSeries, takeSample, type TimeSeries, type WindowMark } from './series.ts';
import { trySend } from './sender.ts';
import { onRtoTimer } from './timeout.ts';
import type { Trace } from './trace.ts';

export { FlowState, SampleBuffer, type FlowConfig } from './flow.ts';
export type { TimeSeries, WindowMark } from './series.ts';

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

  /** @internal The event queue. */
  readonly q: EventQueue;
  /** @internal The packet slots. */
  readonly pk = new PacketPool();
  /** @internal The bottleneck. */
  readonly link: Bottleneck;
  /** @internal Rate of each sender's access link, bit/s (`Infinity`: none). */
  readonly accessRateBps: number;
  /** @internal The congestion-control hooks. */
  hooks: FlowHooks | null = null;
  /** @internal The flow whose hook is running (-1: none): its cwnd/rate changes do not send at once. */
  inHook = -1;

  // external callbacks (IPC deliveries)
  private calls: (() => void)[] = [];
  private callFree: number[] = [];

  constructor(cfg: NetworkConfig) {
    this.cfg = cfg;
    this.q = new EventQueue(4096);
    const initialRto = cfg.initialRtoUs ?? 1_000_000;
    this.flows = cfg.flows.map((f, i) => new FlowState(i, f, initialRto, cfg.headerBytes ?? 0));
    this.link = new Bottleneck(cfg, this.flows, this.pk, this.q);
    this.accessRateBps =
      cfg.accessRateBps !== undefined && cfg.accessRateBps > 0 ? cfg.accessRateBps : Infinity;
    this.prims = cfg.flows.map(() => zeroPrimitives());
    const n = Math.max(0, Math.floor(cfg.durationUs / cfg.sampleIntervalUs + 1e-9));
    this.series = createSeries(cfg.flows, n);
    for (let i = 0; i < cfg.flows.length; i++) {
      const f = cfg.flows[i]!;
      this.q.push(f.startUs, EV_START, i);
      if (Number.isFinite(f.stopUs)) this.q.push(f.stopUs, EV_STOP, i);
    }
    if (n > 0) this.q.push(cfg.sampleIntervalUs, EV_SAMPLE, 1);
  }

  /** Bytes in the bottleneck (waiting + in service). */
  get queueBytes(): number {
    return this.link.queueBytes;
  }
  /** Bytes that left the bottleneck. */
  get linkBytes(): number {
    return this.link.linkBytes;
  }
  /** Packets that left the bottleneck. */
  get linkPkts(): number {
    return this.link.linkPkts;
  }
  /** Packets dropped because the buffer was full. */
  get tailDrops(): number {
    return this.link.tailDrops;
  }
  /** Packets dropped by random loss or the drop filter. */
  get randomDrops(): number {
    return this.link.randomDrops;
  }
  /** Packets marked CE. */
  get ecnMarks(): number {
    return this.link.ecnMarks;
  }
  /** Trace delivery opportunities used. */
  get opportunitiesUsed(): number {
    return this.link.opportunitiesUsed;
  }
  /** Queueing delay of every packet that entered service, µs. */
  get qdelaySamples(): SampleBuffer {
    return this.link.qdelaySamples;
  }

  /** Attach the congestion-control hooks (before running). */
  setHooks(h: FlowHooks): void {
    this.hooks = h;
  }

  /**
   * Set a flow's congestion window in bytes (the datapath's set_cwnd). As ccp-kernel does
   * (`snd_cwnd = bytes / mss`), the sender keeps whole packets (at least one) and reports
   * packets × MSS back through `snd_cwnd`, which libccp loads into `Cwnd` and re-applies after
   * every program run. So the window is `cwndPkts`; `cwndBytes` is always `cwndPkts × mss`, and a
   * cut is logged only when the packet count goes down — not when the agent's unaligned value
   * (e.g. Reno's 312349 bytes) comes back aligned (311320 = 215 × 1448) on the next ACK.
   */
  setCwnd(flow: number, bytes: number): void {
    const f = this.flows[flow]!;
    const pkts = Math.max(1, Math.floor(bytes / f.mss));
    if (pkts < f.cwndPkts && f.active) {
      this.log.add(this.now, flow, 'cut', f.cwndPkts * f.mss, pkts * f.mss);
      f.lastCutTo = pkts * f.mss;
    }
    f.cwndPkts = pkts;
    f.cwndBytes = pkts * f.mss;
    if (this.inHook !== flow) trySend(this, f);
  }

  /** Set a flow's pacing rate in bytes/s; 0 disables pacing (the datapath's set_rate_abs). */
  setRate(flow: number, bytesPerSec: number): void {
    const f = this.flows[flow]!;
    f.rateBytesPerSec = bytesPerSec > 0 ? bytesPerSec : 0;
    if (this.inHook !== flow) trySend(this, f);
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
        case EV_DEPART: {
          const p = this.link.depart(this.now);
          if (p >= 0) receive(this, this.flows[this.pk.flow[p]!]!, p);
          break;
        }
        case EV_ARRIVE:
          this.link.arrive(a, this.now);
          break;
        case EV_DELACK:
          onDelackTimer(this, this.flows[a]!);
          break;
        case EV_ACK:
          onAck(this, a);
          break;
        case EV_SEND: {
          const f = this.flows[a]!;
          if (f.sendTimerAt === this.now) {
            f.sendTimerAt = Infinity;
            trySend(this, f);
          }
          break;
        }
        case EV_RTO:
          onRtoTimer(this, a);
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
          else takeSample(this, a);
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
    return this.link.packets;
  }

  /** Largest queue occupancy seen (since {@link markWindow}, if called), bytes. */
  get maxQueue(): number {
    return this.link.maxQueueBytes;
  }

  /**
   * Open the metrics window now (`--warmup`): remember every counter and sample count so the
   * summary covers [now, end] only.
   */
  markWindow(): void {
    const link = this.link;
    this.window = {
      timeUs: this.now,
      linkBytes: link.linkBytes,
      tailDrops: link.tailDrops,
      randomDrops: link.randomDrops,
      ecnMarks: link.ecnMarks,
      qdelaySamples: link.qdelaySamples.length,
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
    link.maxQueueBytes = link.queueBytes;
  }

  /** Totals for the conservation check: every sent packet is delivered, dropped or queued. */
  conservation(): { sentPkts: number; deliveredPkts: number; droppedPkts: number; queuedPkts: number } {
    let sent = 0;
    let dropped = 0;
    for (const f of this.flows) {
      sent += f.sentPkts;
      dropped += f.droppedPkts;
    }
    return {
      sentPkts: sent,
      deliveredPkts: this.link.linkPkts,
      droppedPkts: dropped,
      queuedPkts: this.link.packets,
    };
  }

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
    trySend(this, f);
  }

  /** @internal The flow stops (its stop time, or all its bytes acknowledged). */
  stopFlow(f: FlowState): void {
    if (!f.active) return;
    f.active = false;
    f.stopped = true;
    f.stoppedUs = this.now;
    f.rtoDeadline = 0;
    this.hooks?.stop?.(f.index);
  }
}

function noop(): void {}
