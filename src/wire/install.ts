/**
 * INSTALL_EXPR (type 2, agent → datapath; spec wire-protocol §6):
 * header | program_uid, E, I | E event records (16 B) | I instruction records (16 B).
 *
 * The codec checks structure and the spec §9 limits (I ≤ 255, E ≤ 256, every event range inside
 * the instruction array, so no range reaches index 256). It does not judge opcodes or register
 * types: libccp reports those (−33 … −37) per instruction, which the datapath machine reproduces.
 * @module
 */
import type { EventRecord, InstallMsg, Instruction, Operand } from './types.ts';
import { MsgType } from './types.ts';
import {
  Limits,
  Sizes,
  checkUint,
  encodeError,
  fail,
  outBuffer,
  putHeader,
  putU32,
  putU8,
  u32,
} from './header.ts';

/** Length of an INSTALL_EXPR with `e` events and `i` instructions: 20 + 16·(e + i). */
export function installLength(e: number, i: number): number {
  return Sizes.INSTALL_PREFIX + Sizes.EVENT_RECORD * e + Sizes.INSTRUCTION_RECORD * i;
}

/** Check INSTALL_EXPR's layout and limits. Returns an error kind, or null. Never allocates. */
export function checkInstall(buf: Uint8Array, off: number, len: number): string | null {
  if (len < Sizes.INSTALL_PREFIX) {
    return fail(
      'bad-length',
      off + 2,
      `INSTALL_EXPR needs at least ${Sizes.INSTALL_PREFIX} bytes, Len is ${len}`,
    );
  }
  const e = u32(buf, off + 12);
  const n = u32(buf, off + 16);
  if (e > Limits.EVENTS)
    return fail('too-many-events', off + 12, `${e} events exceed the limit of ${Limits.EVENTS}`);
  if (n > Limits.INSTRUCTIONS) {
    return fail(
      'too-many-instructions',
      off + 16,
      `${n} instructions exceed the limit of ${Limits.INSTRUCTIONS}`,
    );
  }
  if (len !== installLength(e, n)) {
    return fail(
      'bad-length',
      off + 2,
      `INSTALL_EXPR with ${e} events and ${n} instructions must be ${installLength(e, n)} bytes, Len is ${len}`,
    );
  }
  for (let k = 0; k < e; k++) {
    const r = off + Sizes.INSTALL_PREFIX + Sizes.EVENT_RECORD * k;
    if (u32(buf, r) + u32(buf, r + 4) > n || u32(buf, r + 8) + u32(buf, r + 12) > n) {
      return fail('bad-event-range', r, `event ${k} has an instruction range outside the ${n} instructions`);
    }
  }
  return null;
}

function operand(buf: Uint8Array, o: number): Operand {
  return { type: buf[o]!, index: u32(buf, o + 1) };
}

/** Decode an INSTALL_EXPR whose layout passed {@link checkInstall}. */
export function decodeInstall(buf: Uint8Array, off: number): InstallMsg {
  const e = u32(buf, off + 12);
  const n = u32(buf, off + 16);
  const events: EventRecord[] = new Array<EventRecord>(e);
  let o = off + Sizes.INSTALL_PREFIX;
  for (let k = 0; k < e; k++, o += Sizes.EVENT_RECORD) {
    events[k] = {
      condStart: u32(buf, o),
      condCount: u32(buf, o + 4),
      bodyStart: u32(buf, o + 8),
      bodyCount: u32(buf, o + 12),
    };
  }
  const instructions: Instruction[] = new Array<Instruction>(n);
  for (let j = 0; j < n; j++, o += Sizes.INSTRUCTION_RECORD) {
    instructions[j] = {
      op: buf[o]!,
      result: operand(buf, o + 1),
      left: operand(buf, o + 6),
      right: operand(buf, o + 11),
    };
  }
  return {
    type: MsgType.INSTALL_EXPR,
    sid: u32(buf, off + 4),
    programUid: u32(buf, off + 8),
    events,
    instructions,
  };
}

function checkOperand(which: string, j: number, x: Operand): void {
  if (x === null || typeof x !== 'object') encodeError(`instruction ${j} ${which} operand is missing`);
  checkUint(`${which} register type`, x.type, 8, 'instruction', j);
  checkUint(`${which} register index/value`, x.index, 32, 'instruction', j);
}

function putOperand(b: Uint8Array, o: number, x: Operand): void {
  putU8(b, o, x.type);
  putU32(b, o + 1, x.index);
}

/**
 * Encode INSTALL_EXPR for program `programUid` (uid 1 makes libccp wipe its program table).
 * `sid` is 0 at run time (portus' unit-test vector uses 1).
 * @throws PortusError(ENCODE) for more than 255 instructions or 256 events, an event range
 *   outside the instruction array, or a value that does not fit its field.
 */
export function encodeInstall(
  programUid: number,
  events: readonly EventRecord[],
  instructions: readonly Instruction[],
  sid = 0,
  out?: Buffer,
): Buffer {
  checkUint('program_uid', programUid, 32);
  checkUint('SocketId', sid, 32);
  const e = events.length;
  const n = instructions.length;
  if (e > Limits.EVENTS) encodeError(`${e} events exceed the limit of ${Limits.EVENTS}`);
  if (n > Limits.INSTRUCTIONS) encodeError(`${n} instructions exceed the limit of ${Limits.INSTRUCTIONS}`);
  for (let k = 0; k < e; k++) {
    const ev = events[k]!;
    checkUint('cond_start', ev.condStart, 32, 'event', k);
    checkUint('num_cond', ev.condCount, 32, 'event', k);
    checkUint('event_start', ev.bodyStart, 32, 'event', k);
    checkUint('num_event', ev.bodyCount, 32, 'event', k);
    if (ev.condStart + ev.condCount > n || ev.bodyStart + ev.bodyCount > n) {
      encodeError(`event ${k} has an instruction range outside the ${n} instructions`);
    }
  }
  for (let j = 0; j < n; j++) {
    const ins = instructions[j]!;
    checkUint('opcode', ins.op, 8, 'instruction', j);
    checkOperand('result', j, ins.result);
    checkOperand('left', j, ins.left);
    checkOperand('right', j, ins.right);
  }
  const len = installLength(e, n);
  const b = outBuffer(len, out);
  putHeader(b, 0, MsgType.INSTALL_EXPR, len, sid);
  putU32(b, 8, programUid);
  putU32(b, 12, e);
  putU32(b, 16, n);
  let o = Sizes.INSTALL_PREFIX;
  for (let k = 0; k < e; k++, o += Sizes.EVENT_RECORD) {
    const ev = events[k]!;
    putU32(b, o, ev.condStart);
    putU32(b, o + 4, ev.condCount);
    putU32(b, o + 8, ev.bodyStart);
    putU32(b, o + 12, ev.bodyCount);
  }
  for (let j = 0; j < n; j++, o += Sizes.INSTRUCTION_RECORD) {
    const ins = instructions[j]!;
    putU8(b, o, ins.op);
    putOperand(b, o + 1, ins.result);
    putOperand(b, o + 6, ins.left);
    putOperand(b, o + 11, ins.right);
  }
  return out === undefined ? b : b.subarray(0, len);
}
