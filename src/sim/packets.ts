/**
 * The simulator's packets: a pool of packet slots held in parallel typed arrays (structure of
 * arrays) with a free list, so sending, queueing and ACKing a packet allocates nothing. The
 * arrays double when every slot is in use, which is rare and amortised.
 * @module
 */

/** Packet slots, indexed by packet id. */
export class PacketPool {
  private cap = 1024;
  /** Index of the flow that sent the packet. */
  flow = new Int32Array(1024);
  /** Sequence number (in packets). */
  seq = new Int32Array(1024);
  /** Transmission number (the flow's transmission log). */
  tx = new Int32Array(1024);
  /** Bytes on the wire. */
  size = new Int32Array(1024);
  /** When it entered the bottleneck queue, µs. */
  enq = new Float64Array(1024);
  /** 1: CE-marked (echoed as ECE on its ACK). */
  mark = new Uint8Array(1024);
  /** The receiver's cumulative ACK carried back with it. */
  cum = new Int32Array(1024);
  /** 1: a retransmission. */
  retx = new Uint8Array(1024);
  private free = new Int32Array(1024);
  private freeN = 0;
  private used = 0;

  /** A free packet id. */
  alloc(): number {
    if (this.freeN > 0) return this.free[--this.freeN]!;
    if (this.used === this.cap) this.grow();
    return this.used++;
  }

  /** Return packet `p` to the pool. */
  release(p: number): void {
    this.free[this.freeN++] = p;
  }

  private grow(): void {
    const c = this.cap * 2;
    const gi = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(c);
      b.set(a);
      return b;
    };
    this.flow = gi(this.flow);
    this.seq = gi(this.seq);
    this.tx = gi(this.tx);
    this.size = gi(this.size);
    this.cum = gi(this.cum);
    const r = new Uint8Array(c);
    r.set(this.retx);
    this.retx = r;
    this.free = gi(this.free);
    const e = new Float64Array(c);
    e.set(this.enq);
    this.enq = e;
    const m = new Uint8Array(c);
    m.set(this.mark);
    this.mark = m;
    this.cap = c;
  }
}
