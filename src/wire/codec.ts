/**
 * Whole-message encode/decode: dispatch on the header `Type` (compared as a full u16).
 * @module
 */
import { WireError } from '../errors.ts';
import type { Message } from './types.ts';
import { MsgType } from './types.ts';
import { HEADER_SIZE, fault, u16 } from './header.ts';
import { checkReady, decodeReady, encodeReady } from './ready.ts';
import { checkCreate, decodeCreate, encodeCreate } from './create.ts';
import { checkMeasure, decodeMeasure, encodeMeasure } from './measure.ts';
import { checkInstall, decodeInstall, encodeInstall } from './install.ts';
import { checkUpdateFields, decodeUpdateFields, encodeUpdateFields } from './update-fields.ts';
import { checkChangeProg, decodeChangeProg, encodeChangeProg } from './change-prog.ts';
import { encodeError } from './header.ts';

/** True if `type` is one of the six defined message types (full 16-bit comparison). */
export function isKnownType(type: number): boolean {
  return type >= MsgType.CREATE && type <= MsgType.READY && Number.isInteger(type);
}

/**
 * Check the body layout of a framed message of a known type (`len` bytes at `off`, already known
 * to lie inside `buf`). Returns an error kind ('bad-length', 'too-many-fields', ...) or null, and
 * records the fault's position for {@link layoutError}. Never allocates on success.
 */
export function checkLayout(buf: Uint8Array, off: number, type: number, len: number): string | null {
  switch (type) {
    case MsgType.CREATE:
      return checkCreate(buf, off, len);
    case MsgType.MEASURE:
      return checkMeasure(buf, off, len);
    case MsgType.INSTALL_EXPR:
      return checkInstall(buf, off, len);
    case MsgType.UPDATE_FIELDS:
      return checkUpdateFields(buf, off, len);
    case MsgType.CHANGE_PROG:
      return checkChangeProg(buf, off, len);
    case MsgType.READY:
      return checkReady(buf, off, len);
    default:
      fault.at = off;
      fault.detail = `unknown message type ${type} (0x${type.toString(16).padStart(4, '0')})`;
      return 'unknown-type';
  }
}

/** Build the {@link WireError} for the kind the last {@link checkLayout} returned. */
export function layoutError(kind: string): WireError {
  return new WireError(kind, fault.detail, fault.at);
}

/**
 * Check that a message header is present at `off` and that its `Len` lies inside `buf`.
 * Returns null or a {@link WireError}; this is the framing rule of spec §10.
 */
export function frameError(buf: Uint8Array, off: number): WireError | null {
  const remaining = buf.length - off;
  if (remaining < HEADER_SIZE) {
    return new WireError('truncated', `${remaining} bytes are too few for an 8-byte header`, off);
  }
  const len = u16(buf, off + 2);
  if (len < HEADER_SIZE) return new WireError('bad-length', `header Len ${len} is less than 8`, off + 2);
  if (len > remaining) {
    return new WireError('truncated', `header Len ${len} exceeds the ${remaining} bytes remaining`, off + 2);
  }
  return null;
}

/**
 * Decode the one message starting at `offset` (bytes after its `Len` are ignored, as libccp does).
 * Total: for any input it returns a {@link Message} or throws a {@link WireError}
 * ('truncated', 'bad-length', 'unknown-type', 'too-many-fields', 'too-many-updates',
 * 'too-many-instructions', 'too-many-events', 'bad-event-range', 'bad-input'), never anything else.
 */
export function decode(buf: Uint8Array, offset = 0): Message {
  if (!(buf instanceof Uint8Array)) throw new WireError('bad-input', 'decode expects a Uint8Array', 0);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > buf.length) {
    throw new WireError('bad-input', `offset ${String(offset)} is outside the ${buf.length}-byte buffer`, 0);
  }
  const fe = frameError(buf, offset);
  if (fe !== null) throw fe;
  const type = u16(buf, offset);
  const len = u16(buf, offset + 2);
  const kind = checkLayout(buf, offset, type, len);
  if (kind !== null) throw layoutError(kind);
  switch (type) {
    case MsgType.CREATE:
      return decodeCreate(buf, offset);
    case MsgType.MEASURE:
      return decodeMeasure(buf, offset);
    case MsgType.INSTALL_EXPR:
      return decodeInstall(buf, offset);
    case MsgType.UPDATE_FIELDS:
      return decodeUpdateFields(buf, offset);
    case MsgType.CHANGE_PROG:
      return decodeChangeProg(buf, offset);
    default:
      return decodeReady(buf, offset);
  }
}

/**
 * Encode any message. Every field is written as given (a MEASURE's `numFields` too), so
 * `encode(decode(b))` reproduces `b` except where libccp ignores bytes (UPDATE_FIELDS count
 * bytes 9–11, which are written as 0).
 * @throws PortusError(ENCODE) when a value is out of range or a limit is exceeded.
 */
export function encode(msg: Message): Buffer {
  switch (msg.type) {
    case MsgType.READY:
      return encodeReady(msg.id, msg.sid);
    case MsgType.CREATE:
      return encodeCreate(msg);
    case MsgType.MEASURE:
      return encodeMeasure(msg.sid, msg.programUid, msg.fields, undefined, msg.numFields);
    case MsgType.INSTALL_EXPR:
      return encodeInstall(msg.programUid, msg.events, msg.instructions, msg.sid);
    case MsgType.UPDATE_FIELDS:
      return encodeUpdateFields(msg.sid, msg.updates);
    case MsgType.CHANGE_PROG:
      return encodeChangeProg(msg.sid, msg.programUid, msg.updates);
    default:
      return encodeError(`unknown message type ${String((msg as { type: unknown }).type)}`);
  }
}
