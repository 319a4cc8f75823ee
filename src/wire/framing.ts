/**
 * Framing of received buffers (spec wire-protocol §10): a buffer from the datapath may hold
 * several concatenated messages; walk them by each header's `Len`.
 * @module
 */
import type { WireError } from '../errors.ts';
import { u16 } from './header.ts';
import { checkLayout, frameError, isKnownType, layoutError } from './codec.ts';

/** Called once per framed message: the buffer, the message's offset, its full u16 type and Len. */
export type MessageVisitor = (buf: Buffer, offset: number, type: number, len: number) => void;

/**
 * Walk the messages of a received buffer in order, calling `fn` for each, without allocating.
 *
 * - A header with `Len < 8` or `Len` beyond the end of the buffer (or fewer than 8 bytes left)
 *   ends the walk: the rest of the buffer is discarded (portus' rule) and the error is returned.
 * - A message of a known type whose body layout is wrong (e.g. a MEASURE whose Len is not
 *   16 + 8·n) is skipped — `fn` is not called for it — and the walk continues with the next one;
 *   the first such error is returned at the end. So every message `fn` sees of a known type is
 *   safe for the zero-allocation accessors (`measureField`...).
 * - Messages of unknown types are passed to `fn` (their framing is valid); the consumer ignores
 *   or logs them.
 *
 * Returns null when the whole buffer was consumed without error. An empty buffer calls nothing.
 * Exceptions thrown by `fn` propagate.
 */
export function forEachMessage(buf: Buffer, fn: MessageVisitor): WireError | null {
  let first: WireError | null = null;
  let off = 0;
  const end = buf.length;
  while (off < end) {
    const fe = frameError(buf, off);
    if (fe !== null) return first ?? fe;
    const type = u16(buf, off);
    const len = u16(buf, off + 2);
    if (isKnownType(type)) {
      const kind = checkLayout(buf, off, type, len);
      if (kind === null) fn(buf, off, type, len);
      else if (first === null) first = layoutError(kind);
    } else {
      fn(buf, off, type, len);
    }
    off += len;
  }
  return first;
}

/**
 * Convenience (allocating) form of {@link forEachMessage}: the framed messages as subarrays, and
 * the first error. For tests, logs and non-hot paths.
 */
export function splitMessages(buf: Buffer): { messages: Buffer[]; error: WireError | null } {
  const messages: Buffer[] = [];
  const error = forEachMessage(buf, (b, off, _type, len) => {
    messages.push(b.subarray(off, off + len));
  });
  return { messages, error };
}
