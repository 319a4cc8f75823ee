/**
 * CREATE (type 0, datapath → agent, 96 bytes; spec wire-protocol §4).
 * @module
 */
import type { CreateMsg } from './types.ts';
import { MsgType } from './types.ts';
import { Limits, Sizes, checkUint, encodeError, fail, outBuffer, putHeader, putU32, u32 } from './header.ts';

const CONG_ALG_OFFSET = 32;

/** Check CREATE's layout: `Len` must be 96. Returns an error kind, or null. Never allocates. */
export function checkCreate(_buf: Uint8Array, off: number, len: number): string | null {
  if (len !== Sizes.CREATE) {
    return fail('bad-length', off + 2, `CREATE must be ${Sizes.CREATE} bytes, Len is ${len}`);
  }
  return null;
}

/**
 * Decode the 64-byte `congAlg` field at `off` (spec §4): the bytes up to the first NUL, or all 64
 * bytes when there is none, read as Latin-1 (every byte string is accepted). '' = no algorithm
 * requested.
 */
export function decodeCongAlg(buf: Uint8Array, off: number): string {
  let end = off;
  const limit = off + Limits.CONG_ALG;
  while (end < limit && buf[end] !== 0) end++;
  return Buffer.from(buf.buffer, buf.byteOffset + off, end - off).toString('latin1');
}

/** Decode a CREATE whose layout passed {@link checkCreate}. */
export function decodeCreate(buf: Uint8Array, off: number): CreateMsg {
  return {
    type: MsgType.CREATE,
    sid: u32(buf, off + 4),
    initCwnd: u32(buf, off + 8),
    mss: u32(buf, off + 12),
    srcIp: u32(buf, off + 16),
    srcPort: u32(buf, off + 20),
    dstIp: u32(buf, off + 24),
    dstPort: u32(buf, off + 28),
    congAlg: decodeCongAlg(buf, off + CONG_ALG_OFFSET),
  };
}

/**
 * Encode CREATE. `congAlg` must be at most 64 Latin-1 characters without NUL (a 64-character
 * name is sent without a terminator, as libccp allows); the rest of the field is NUL-padded.
 * @throws PortusError(ENCODE) if a value is out of range.
 */
export function encodeCreate(m: Omit<CreateMsg, 'type'>, out?: Buffer): Buffer {
  checkUint('SocketId', m.sid, 32);
  checkUint('init_cwnd', m.initCwnd, 32);
  checkUint('mss', m.mss, 32);
  checkUint('src_ip', m.srcIp, 32);
  checkUint('src_port', m.srcPort, 32);
  checkUint('dst_ip', m.dstIp, 32);
  checkUint('dst_port', m.dstPort, 32);
  const alg = m.congAlg;
  if (typeof alg !== 'string' || alg.length > Limits.CONG_ALG) {
    encodeError(`congAlg must be a string of at most ${Limits.CONG_ALG} characters`);
  }
  for (let i = 0; i < alg.length; i++) {
    const c = alg.charCodeAt(i);
    if (c === 0 || c > 0xff) encodeError(`congAlg character ${i} (code ${c}) is not a non-NUL Latin-1 byte`);
  }
  const b = outBuffer(Sizes.CREATE, out);
  putHeader(b, 0, MsgType.CREATE, Sizes.CREATE, m.sid);
  putU32(b, 8, m.initCwnd);
  putU32(b, 12, m.mss);
  putU32(b, 16, m.srcIp);
  putU32(b, 20, m.srcPort);
  putU32(b, 24, m.dstIp);
  putU32(b, 28, m.dstPort);
  for (let i = 0; i < Limits.CONG_ALG; i++) {
    b[CONG_ALG_OFFSET + i] = i < alg.length ? alg.charCodeAt(i) : 0;
  }
  return out === undefined ? b : b.subarray(0, Sizes.CREATE);
}
