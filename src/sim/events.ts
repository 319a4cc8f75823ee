/**
 * The simulator's event queue: a binary min-heap over preallocated typed arrays, ordered by
 * (time, insertion sequence) so that events at the same instant run in the order they were
 * scheduled. Pushing and popping allocate nothing (the arrays double when full, which is rare
 * and amortised).
 * @module
 */

// Kinds of events the network schedules (the `kind` of EventQueue.push).
/** A paced sender may send again (arg: flow). */
export const EV_SEND = 1;
/** The packet in service leaves the bottleneck (arg unused). */
export const EV_DEPART = 2;
/** An ACK reaches its sender (arg: packet). */
export const EV_ACK = 3;
/** A retransmission timer fires (arg: flow). */
export const EV_RTO = 4;
/** A flow starts (arg: flow). */
export const EV_START = 5;
/** A flow's stop time (arg: flow). */
export const EV_STOP = 6;
/** Take time-series sample number arg. */
export const EV_SAMPLE = 7;
/** Run a scheduled callback (arg: its slot). */
export const EV_CALL = 8;
/** A packet leaves its sender's access link and reaches the bottleneck (arg: packet). */
export const EV_ARRIVE = 9;
/** A delayed-ACK timer fires (arg: flow). */
export const EV_DELACK = 10;

/** A deterministic priority queue of `(time, kind, arg)` events. */
export class EventQueue {
  private times: Float64Array;
  private seqs: Float64Array;
  private kinds: Uint8Array;
  private args: Int32Array;
  private n = 0;
  private nextSeq = 0;
  /** Time of the event returned by the last {@link pop}. */
  time = 0;
  /** Argument of the event returned by the last {@link pop}. */
  arg = 0;

  /** @param capacity initial number of slots (grows by doubling). */
  constructor(capacity = 1024) {
    const c = Math.max(16, capacity | 0);
    this.times = new Float64Array(c);
    this.seqs = new Float64Array(c);
    this.kinds = new Uint8Array(c);
    this.args = new Int32Array(c);
  }

  /** Number of pending events. */
  get size(): number {
    return this.n;
  }

  /** Time of the earliest pending event (`Infinity` if empty). */
  peekTime(): number {
    return this.n > 0 ? this.times[0]! : Infinity;
  }

  /** Schedule an event of `kind` (0..255) with an integer `arg` at `time`. */
  push(time: number, kind: number, arg: number): void {
    if (this.n === this.times.length) this.grow();
    const times = this.times;
    const seqs = this.seqs;
    const kinds = this.kinds;
    const args = this.args;
    const seq = this.nextSeq++;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = times[p]!;
      if (pt < time || (pt === time && seqs[p]! < seq)) break;
      times[i] = pt;
      seqs[i] = seqs[p]!;
      kinds[i] = kinds[p]!;
      args[i] = args[p]!;
      i = p;
    }
    times[i] = time;
    seqs[i] = seq;
    kinds[i] = kind;
    args[i] = arg;
  }

  /**
   * Remove the earliest event and return its kind; its time and argument are left in
   * {@link time} and {@link arg}. Returns -1 when the queue is empty.
   */
  pop(): number {
    if (this.n === 0) return -1;
    const times = this.times;
    const seqs = this.seqs;
    const kinds = this.kinds;
    const args = this.args;
    const kind = kinds[0]!;
    this.time = times[0]!;
    this.arg = args[0]!;
    const last = --this.n;
    if (last > 0) {
      const t = times[last]!;
      const s = seqs[last]!;
      const k = kinds[last]!;
      const a = args[last]!;
      let i = 0;
      const half = last >> 1;
      while (i < half) {
        let c = 2 * i + 1;
        const r = c + 1;
        if (r < last && (times[r]! < times[c]! || (times[r] === times[c] && seqs[r]! < seqs[c]!))) c = r;
        const ct = times[c]!;
        if (t < ct || (t === ct && s < seqs[c]!)) break;
        times[i] = ct;
        seqs[i] = seqs[c]!;
        kinds[i] = kinds[c]!;
        args[i] = args[c]!;
        i = c;
      }
      times[i] = t;
      seqs[i] = s;
      kinds[i] = k;
      args[i] = a;
    }
    return kind;
  }

  /** Drop every pending event. */
  clear(): void {
    this.n = 0;
  }

  private grow(): void {
    const c = this.times.length * 2;
    const t = new Float64Array(c);
    t.set(this.times);
    this.times = t;
    const s = new Float64Array(c);
    s.set(this.seqs);
    this.seqs = s;
    const k = new Uint8Array(c);
    k.set(this.kinds);
    this.kinds = k;
    const a = new Int32Array(c);
    a.set(this.args);
    this.args = a;
  }
}
