/**
 * A FIFO of byte messages in one reused buffer (4-byte length prefix each): what the unix
 * transport keeps for a destination whose receive queue is full, without allocating per message.
 * @module
 */

const INITIAL = 4096;
/** An empty queue whose buffer grew beyond this gives the memory back. */
const SHRINK_ABOVE = 1 << 20;

/** Messages waiting, oldest first. */
export class ByteQueue {
  /** Storage; the oldest message starts at `start`, free space from `end`. */
  buf: Buffer = Buffer.allocUnsafe(INITIAL);
  start = 0;
  end = 0;
  /** Messages in the queue. */
  count = 0;

  /** Append a copy of `msg`. */
  push(msg: Uint8Array): void {
    const need = 4 + msg.length;
    if (this.end + need > this.buf.length) {
      if (this.start > 0) {
        this.buf.copy(this.buf, 0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      }
      if (this.end + need > this.buf.length) {
        const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.end + need));
        this.buf.copy(bigger, 0, 0, this.end);
        this.buf = bigger;
      }
    }
    this.buf.writeUInt32LE(msg.length, this.end);
    this.buf.set(msg, this.end + 4);
    this.end += need;
    this.count++;
  }

  /** Byte offset in `buf` of the oldest message (count > 0). */
  headOffset(): number {
    return this.start + 4;
  }

  /** Length of the oldest message (count > 0). */
  headLength(): number {
    return this.buf.readUInt32LE(this.start);
  }

  /** Remove the oldest message. */
  shift(): void {
    this.start += 4 + this.headLength();
    if (--this.count === 0) this.clear();
  }

  /** Remove everything. */
  clear(): void {
    this.start = 0;
    this.end = 0;
    this.count = 0;
    if (this.buf.length > SHRINK_ABOVE) this.buf = Buffer.allocUnsafe(INITIAL);
  }
}
