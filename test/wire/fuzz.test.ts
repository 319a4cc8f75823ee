/**
 * Seeded fuzzing of the wire codec: random valid messages round-trip exactly; random and mutated
 * byte strings only ever produce messages or a WireError — never another exception — and
 * everything that decodes re-encodes to the same bytes. Failures print the seed and case number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireError } from '../../src/errors.ts';
import {
  MsgType,
  decode,
  encode,
  forEachMessage,
  measureFieldBig,
  measureFieldCount,
  readLen,
  readType,
} from '../../src/wire/index.ts';
import type { EventRecord, Instruction, Message, UpdateRecord } from '../../src/wire/index.ts';

/** mulberry32: a small, fast, seedable 32-bit PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const SEED = 0xc0ffee;

function gen(next: () => number) {
  const int = (n: number) => next() % n; // [0, n)
  const u32 = () => {
    switch (int(4)) {
      case 0:
        return 0;
      case 1:
        return 0xffffffff;
      case 2:
        return int(300);
      default:
        return next();
    }
  };
  const u64 = (): bigint => {
    switch (int(4)) {
      case 0:
        return 0n;
      case 1:
        return 0xffffffffffffffffn;
      case 2:
        return BigInt(int(100000));
      default:
        return (BigInt(next()) << 32n) | BigInt(next());
    }
  };
  const small = (max: number) => (int(8) === 0 ? int(max + 1) : int(Math.min(max, 12) + 1));
  const update = (): UpdateRecord => ({ regType: int(256), regIndex: u32(), value: u64() });
  const message = (): Message => {
    const sid = u32();
    switch (int(6)) {
      case 0: {
        const n = int(65);
        let congAlg = '';
        for (let i = 0; i < n; i++) congAlg += String.fromCharCode(1 + int(255));
        return {
          type: MsgType.CREATE,
          sid,
          initCwnd: u32(),
          mss: u32(),
          srcIp: u32(),
          srcPort: u32(),
          dstIp: u32(),
          dstPort: u32(),
          congAlg,
        };
      }
      case 1: {
        const fields = Array.from({ length: small(110) }, u64);
        return {
          type: MsgType.MEASURE,
          sid,
          programUid: u32(),
          numFields: int(4) === 0 ? u32() : fields.length,
          fields,
        };
      }
      case 2: {
        const n = small(255);
        const events: EventRecord[] = Array.from({ length: small(256) }, () => {
          const cs = int(n + 1);
          const bs = int(n + 1);
          return { condStart: cs, condCount: int(n - cs + 1), bodyStart: bs, bodyCount: int(n - bs + 1) };
        });
        const operand = () => ({ type: int(256), index: u32() });
        const instructions: Instruction[] = Array.from({ length: n }, () => ({
          op: int(256),
          result: operand(),
          left: operand(),
          right: operand(),
        }));
        return { type: MsgType.INSTALL_EXPR, sid, programUid: u32(), events, instructions };
      }
      case 3:
        return { type: MsgType.UPDATE_FIELDS, sid, updates: Array.from({ length: small(127) }, update) };
      case 4:
        return {
          type: MsgType.CHANGE_PROG,
          sid,
          programUid: u32(),
          updates: Array.from({ length: small(222) }, update),
        };
      default:
        return { type: MsgType.READY, sid, id: u32() };
    }
  };
  return { int, message };
}

/**
 * The bytes `encode(decode(b))` must reproduce: b, except the bytes the protocol ignores —
 * UPDATE_FIELDS count bytes 9–11 and CREATE congAlg bytes after the first NUL.
 */
function canonical(b: Uint8Array, off: number): Buffer {
  const len = readLen(b, off);
  const c = Buffer.from(b.subarray(off, off + len));
  if (readType(b, off) === MsgType.UPDATE_FIELDS) c.fill(0, 9, 12);
  if (readType(b, off) === MsgType.CREATE && c.length === 96) {
    const nul = c.indexOf(0, 32);
    if (nul >= 0) c.fill(0, nul);
  }
  return c;
}

/** Decode `b` at `off`: a WireError is fine; anything decoded must re-encode canonically. */
function check(b: Uint8Array, off: number, where: string): boolean {
  let m: Message;
  try {
    m = decode(b, off);
  } catch (e) {
    if (!(e instanceof WireError)) assert.fail(`${where}: non-WireError thrown: ${String(e)}`);
    return false;
  }
  const again = encode(m);
  if (!again.equals(canonical(b, off))) {
    assert.fail(
      `${where}: re-encoding differs: ${Buffer.from(b.subarray(off)).toString('hex')} vs ${again.toString('hex')}`,
    );
  }
  return true;
}

test('fuzz: 25k random valid messages round-trip exactly (encode → decode → encode)', () => {
  const next = prng(SEED);
  const { message } = gen(next);
  for (let i = 0; i < 25_000; i++) {
    const m = message();
    const b = encode(m);
    assert.equal(b.length, readLen(b, 0));
    const d = decode(b);
    if (i % 10 === 0) assert.deepEqual(d, m, `seed ${SEED} case ${i}`);
    assert.ok(encode(d).equals(b), `seed ${SEED} case ${i}`);
  }
});

test('fuzz: 50k mutated messages decode to messages or WireError only, and re-encode exactly', () => {
  const next = prng(SEED + 1);
  const { int, message } = gen(next);
  let decoded = 0;
  for (let i = 0; i < 50_000; i++) {
    const b = Buffer.from(encode(message()));
    let buf: Buffer = b;
    const mutations = 1 + int(3);
    for (let k = 0; k < mutations; k++) {
      switch (int(6)) {
        case 0: // flip a byte anywhere
          buf[int(buf.length)] = int(256);
          break;
        case 1: // flip a header byte (type / Len / sid)
          buf[int(8)] = int(256);
          break;
        case 2: // truncate
          buf = buf.subarray(0, int(buf.length + 1));
          break;
        case 3: // append junk
          buf = Buffer.concat([buf, Buffer.from(Array.from({ length: 1 + int(20) }, () => int(256)))]);
          break;
        case 4: // set a count field to an extreme
          if (buf.length >= 20)
            buf.writeUInt32LE(
              [0, 1, 110, 111, 127, 128, 222, 223, 255, 256, 0xffffffff][int(11)]!,
              8 + 4 * int(3),
            );
          break;
        default: // set Len to something else
          if (buf.length >= 4)
            buf.writeUInt16LE([0, 7, 8, 12, 16, buf.length, buf.length + 1, 0xffff][int(8)]!, 2);
      }
    }
    if (buf.length === 0) buf = Buffer.alloc(int(9));
    if (check(buf, 0, `seed ${SEED + 1} case ${i}`)) decoded++;
  }
  assert.ok(decoded > 5000, `only ${decoded} mutated messages decoded: the mutations are too destructive`);
});

test('fuzz: 30k random byte strings (header-biased) never throw anything but WireError', () => {
  const next = prng(SEED + 2);
  const { int } = gen(next);
  for (let i = 0; i < 30_000; i++) {
    const n = int(4) === 0 ? int(8) : int(200);
    const buf = Buffer.alloc(n);
    for (let k = 0; k < n; k++) buf[k] = int(256);
    if (n >= 4 && int(2) === 0) {
      buf.writeUInt16LE(int(4) === 0 ? int(0x10000) : int(7), 0);
      buf.writeUInt16LE(int(2) === 0 ? n : int(n + 10), 2);
    }
    const off = int(8) === 0 ? int(n + 1) : 0;
    check(buf, off, `seed ${SEED + 2} case ${i}`);
  }
});

test('fuzz: 10k concatenations of valid and mutated messages: forEachMessage frames them safely', () => {
  const next = prng(SEED + 3);
  const { int, message } = gen(next);
  for (let i = 0; i < 10_000; i++) {
    const parts: Buffer[] = [];
    const count = 1 + int(5);
    for (let k = 0; k < count; k++) {
      const p = Buffer.from(encode(message()));
      if (int(5) === 0) p[int(p.length)] = int(256);
      parts.push(p);
    }
    let buf = Buffer.concat(parts);
    if (int(5) === 0) buf = buf.subarray(0, int(buf.length + 1));
    let expectOff = 0;
    let err: WireError | null = null;
    try {
      err = forEachMessage(buf, (b, off, type, len) => {
        assert.ok(
          off >= expectOff && off + len <= b.length && len >= 8,
          `seed ${SEED + 3} case ${i}: bad frame`,
        );
        expectOff = off + len;
        if (type === MsgType.MEASURE) {
          // every known-type message handed out is layout-valid: accessors agree with decode
          const m = decode(b, off);
          assert.ok(m.type === MsgType.MEASURE);
          const n = measureFieldCount(b, off);
          assert.equal(n, m.type === MsgType.MEASURE ? m.fields.length : -1);
          if (n > 0)
            assert.equal(measureFieldBig(b, off, n - 1), m.type === MsgType.MEASURE ? m.fields[n - 1] : -1n);
        } else if (type <= MsgType.READY) {
          decode(b, off); // must not throw: forEachMessage checked the layout
        }
      });
    } catch (e) {
      assert.fail(`seed ${SEED + 3} case ${i}: forEachMessage threw ${String(e)}`);
    }
    assert.ok(err === null || err instanceof WireError);
  }
});
