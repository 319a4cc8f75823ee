/**
 * The bottleneck link: random and scripted loss, a drop-tail buffer with optional ECN marking,
 * and service at a constant rate or at a mahimahi trace's delivery opportunities. It counts what
 * the metrics read (bytes and packets through, drops, marks, queueing delay samples).
 *
 * Queue occupancy counts every packet from enqueue until it has left the link (the packet in
 * service included); a packet is dropped if it would push occupancy above the buffer.
 * @module
 */
import { EV_DEPART, type EventQueue } from './events.ts';
import type { FlowState } from './flow.ts';
import { SampleBuffer } from './flow.ts';
import type { NetworkConfig } from './network.ts';
import type { PacketPool } from './packets.ts';
import { createRng, type Rng } from './rng.ts';
import type { Trace } from './trace.ts';

/** The bottleneck queue and link (internal to the network). */
export class Bottleneck {
  // the queue: a ring of packet ids
  private qBuf = new Int32Array(1024);
  private qHead = 0;
  private qLen = 0;
  /** Bytes in the bottleneck (waiting + in service). */
  queueBytes = 0;
  private busy = false;
  private readonly rateBps: number;
  private readonly lossAfterQueue: boolean;
  private readonly trace: Trace | undefined;
  private oppNext = 0;
  private readonly rng: Rng;

  // counters
  /** Bytes that left the bottleneck. */
  linkBytes = 0;
  linkPkts = 0;
  tailDrops = 0;
  randomDrops = 0;
  ecnMarks = 0;
  opportunitiesUsed = 0;
  readonly qdelaySamples = new SampleBuffer();
  /** Bytes through the link in the current sampling interval. */
  ivLinkBytes = 0;
  /** Sum and number of queueing delays in the current sampling interval. */
  ivQdSum = 0;
  ivQdN = 0;
  /** Largest occupancy seen, bytes. */
  maxQueueBytes = 0;

  constructor(
    private readonly cfg: NetworkConfig,
    private readonly flows: FlowState[],
    private readonly pk: PacketPool,
    private readonly q: EventQueue,
  ) {
    this.rng = createRng(cfg.seed);
    this.trace = cfg.link.trace;
    this.rateBps = cfg.link.rateBps ?? 0;
    this.lossAfterQueue = cfg.lossPlacement === 'after-queue';
  }

  /** Packets in the bottleneck (waiting or in service). */
  get packets(): number {
    return this.qLen;
  }

  /** Packet `p` reaches the bottleneck at `now`: scripted/random loss, tail drop, or the queue. */
  arrive(p: number, now: number): void {
    const cfg = this.cfg;
    const pk = this.pk;
    const f = this.flows[pk.flow[p]!]!;
    const size = pk.size[p]!;
    if (
      (cfg.lossRate > 0 && !this.lossAfterQueue && this.rng.next() < cfg.lossRate) ||
      (cfg.dropFilter !== undefined && cfg.dropFilter(f.index, pk.seq[p]!, pk.retx[p] === 1))
    ) {
      this.randomDrops++;
      f.droppedPkts++;
      pk.release(p);
      return;
    }
    if (this.queueBytes + size > cfg.bufferBytes) {
      this.tailDrops++;
      f.droppedPkts++;
      pk.release(p);
      return;
    }
    pk.enq[p] = now;
    let mark = 0;
    if (this.queueBytes > cfg.ecnThresholdBytes) {
      mark = 1;
      this.ecnMarks++;
    }
    pk.mark[p] = mark;
    if (this.qLen === this.qBuf.length) this.growQueue();
    this.qBuf[(this.qHead + this.qLen) & (this.qBuf.length - 1)] = p;
    this.qLen++;
    this.queueBytes += size;
    if (this.queueBytes > this.maxQueueBytes) this.maxQueueBytes = this.queueBytes;
    if (!this.busy) this.startService(now);
  }

  /**
   * The packet in service leaves the link at `now` (the EV_DEPART event); the next one starts
   * service. Returns its id for the receiver, or -1 when it was lost on the far side.
   */
  depart(now: number): number {
    const mask = this.qBuf.length - 1;
    const pk = this.pk;
    const p = this.qBuf[this.qHead]!;
    this.qHead = (this.qHead + 1) & mask;
    this.qLen--;
    const size = pk.size[p]!;
    this.queueBytes -= size;
    this.linkBytes += size;
    this.linkPkts++;
    this.ivLinkBytes += size;
    this.busy = false;
    if (this.qLen > 0) this.startService(now);
    if (this.lossAfterQueue && this.cfg.lossRate > 0 && this.rng.next() < this.cfg.lossRate) {
      // lost on the far side of the link (as ns-3's receive error model): capacity was used
      const f = this.flows[pk.flow[p]!]!;
      this.randomDrops++;
      f.droppedPkts++;
      pk.release(p);
      return -1;
    }
    return p;
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

  private startService(now: number): void {
    const pk = this.pk;
    const p = this.qBuf[this.qHead]!;
    let depart: number;
    if (this.trace) {
      const idx = this.nextOpportunity(now);
      this.oppNext = idx + 1;
      this.opportunitiesUsed++;
      const tr = this.trace;
      const n = tr.opportunitiesMs.length;
      depart = (Math.floor(idx / n) * tr.periodMs + tr.opportunitiesMs[idx % n]!) * 1000;
      if (depart < now) depart = now;
    } else {
      depart = now + (pk.size[p]! * 8e6) / this.rateBps;
    }
    const wait = (this.trace ? depart : now) - pk.enq[p]!;
    this.qdelaySamples.push(wait);
    this.flows[pk.flow[p]!]!.qdelaySamples.push(wait);
    this.ivQdSum += wait;
    this.ivQdN++;
    this.busy = true;
    this.q.push(depart, EV_DEPART, 0);
  }
}
