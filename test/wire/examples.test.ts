/**
 * Every hex example of wire-protocol.md §12 and language.md §13 round-trips byte for byte, and
 * conformance-checklist items A (1–15) and B (16–25).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, PortusError, WireError } from '../../src/errors.ts';
import {
  MsgType,
  Op,
  RegType,
  decode,
  encode,
  encodeChangeProg,
  encodeCreate,
  encodeInstall,
  encodeMeasure,
  encodeReady,
  encodeUpdateFields,
  forEachMessage,
  measureField,
  measureFieldBig,
  measureFieldCount,
  measureNumFields,
  measureProgramUid,
  readSid,
  readType,
  splitMessages,
} from '../../src/wire/index.ts';
import type { Instruction, Message, Operand } from '../../src/wire/index.ts';
import {
  CHANGE_0,
  CHANGE_1,
  CREATE_KERNEL,
  CREATE_TEST,
  INSTALL_12_6,
  INSTALL_A,
  INSTALL_B,
  INSTALL_C,
  MEASURE_3,
  MEASURE_5,
  MEASURE_CLOSE,
  READY_AA,
  READY_KERNEL,
  UPDATE_1,
  UPDATE_2,
  UPDATE_CONTROL,
  hex,
  toHex,
} from '../fixtures/spec-vectors.ts';

/** decode → encode reproduces the bytes exactly. */
function roundTrip(bytes: Buffer): Message {
  const m = decode(bytes);
  assert.equal(toHex(encode(m)), toHex(bytes));
  return m;
}

const isEncodeError = (e: unknown): boolean => e instanceof PortusError && e.code === ErrorCodes.ENCODE;
const wireKind =
  (kind: string) =>
  (e: unknown): boolean =>
    e instanceof WireError && e.kind === kind;

// Operand helpers for hand-built instruction lists.
const R = (type: number, index: number): Operand => ({ type, index });
const imm = (v: number): Operand => R(RegType.IMMEDIATE, v);
const ins = (op: number, result: Operand, left: Operand, right: Operand): Instruction => ({
  op,
  result,
  left,
  right,
});

// ---------------------------------------------------------------------------------------------
// Spec examples round-trip byte for byte.

test('spec §12.1 READY examples (id 0xaa, ccp-kernel id 0) round-trip', () => {
  assert.deepEqual(roundTrip(hex(READY_AA)), { type: MsgType.READY, sid: 0, id: 0xaa });
  assert.deepEqual(roundTrip(hex(READY_KERNEL)), { type: MsgType.READY, sid: 0, id: 0 });
  assert.equal(toHex(encodeReady(0xaa)), toHex(hex(READY_AA)));
  assert.equal(toHex(encodeReady(0)), toHex(hex(READY_KERNEL)));
});

test('spec §12.2 CREATE examples (libccp test, ccp-kernel reno) round-trip', () => {
  const kernel = roundTrip(hex(CREATE_KERNEL));
  assert.deepEqual(kernel, {
    type: MsgType.CREATE,
    sid: 3,
    initCwnd: 14480,
    mss: 1448,
    srcIp: 0x0100000a,
    srcPort: 0x8913,
    dstIp: 0x0200000a,
    dstPort: 0x409c,
    congAlg: 'reno',
  });
  assert.equal(toHex(encodeCreate(kernel)), toHex(hex(CREATE_KERNEL)));
  roundTrip(hex(CREATE_TEST));
});

test('spec §12.3 MEASURE examples (3 fields, portus 5 fields, close) round-trip', () => {
  roundTrip(hex(MEASURE_3));
  assert.deepEqual(roundTrip(hex(MEASURE_5)), {
    type: MsgType.MEASURE,
    sid: 15,
    programUid: 72,
    numFields: 5,
    fields: [424242n, 65535n, 65530n, 200000n, 150000n],
  });
  assert.equal(
    toHex(encodeMeasure(15, 72, [424242n, 65535n, 65530n, 200000n, 150000n])),
    toHex(hex(MEASURE_5)),
  );
  const close = roundTrip(hex(MEASURE_CLOSE));
  assert.deepEqual(close, { type: MsgType.MEASURE, sid: 1, programUid: 0, numFields: 0, fields: [] });
  assert.equal(toHex(encodeMeasure(1, 0, [])), toHex(hex(MEASURE_CLOSE)));
});

test('spec §12.4 UPDATE_FIELDS examples (Cwnd+Rate, Cwnd, control 0) round-trip', () => {
  roundTrip(hex(UPDATE_2));
  assert.deepEqual(roundTrip(hex(UPDATE_1)), {
    type: MsgType.UPDATE_FIELDS,
    sid: 1,
    updates: [{ regType: 2, regIndex: 4, value: 42n }],
  });
  assert.deepEqual(roundTrip(hex(UPDATE_CONTROL)).type, MsgType.UPDATE_FIELDS);
  const ctl = encodeUpdateFields(1, [{ regType: RegType.CONTROL, regIndex: 0, value: 15000 }]);
  assert.equal(toHex(ctl), toHex(hex(UPDATE_CONTROL)));
});

test('spec §12.5 CHANGE_PROG examples (uid 7 + Cwnd, uid 1 without updates) round-trip', () => {
  assert.deepEqual(roundTrip(hex(CHANGE_1)), {
    type: MsgType.CHANGE_PROG,
    sid: 1,
    programUid: 7,
    updates: [{ regType: 2, regIndex: 4, value: 42n }],
  });
  assert.deepEqual(roundTrip(hex(CHANGE_0)), {
    type: MsgType.CHANGE_PROG,
    sid: 1,
    programUid: 1,
    updates: [],
  });
});

/** The instruction list of spec §12.6, built by hand from the spec's table. */
const PROGRAM_12_6: Instruction[] = [
  ins(Op.DEF, R(5, 0), R(5, 0), imm(0)),
  ins(Op.BIND, R(2, 0), R(2, 0), imm(1)),
  ins(Op.BIND, R(5, 0), R(5, 0), imm(4)),
];
const EVENTS_12_6 = [{ condStart: 1, condCount: 1, bodyStart: 2, bodyCount: 1 }];

test('spec §12.6 INSTALL_EXPR decodes to the hand-built program and round-trips', () => {
  const m = roundTrip(hex(INSTALL_12_6));
  assert.deepEqual(m, {
    type: MsgType.INSTALL_EXPR,
    sid: 1,
    programUid: 7,
    events: EVENTS_12_6,
    instructions: PROGRAM_12_6,
  });
});

test('language.md §13 examples A, B, C: INSTALL bytes decode and re-encode exactly', () => {
  const a = roundTrip(hex(INSTALL_A));
  assert.equal(a.type, MsgType.INSTALL_EXPR);
  if (a.type !== MsgType.INSTALL_EXPR) return;
  assert.equal(a.programUid, 1);
  assert.equal(a.instructions.length, 13);
  assert.deepEqual(a.events, [
    { condStart: 3, condCount: 1, bodyStart: 4, bodyCount: 6 },
    { condStart: 10, condCount: 1, bodyStart: 11, bodyCount: 2 },
  ]);
  // instruction 1: DEF R6.2 ← +infinity (0xFFFFFFFF)
  assert.deepEqual(a.instructions[1], ins(Op.DEF, R(6, 2), R(6, 2), imm(0xffffffff)));
  const b = roundTrip(hex(INSTALL_B));
  assert.ok(b.type === MsgType.INSTALL_EXPR && b.programUid === 2 && b.instructions.length === 20);
  if (b.type === MsgType.INSTALL_EXPR) {
    assert.deepEqual(b.instructions[5], ins(Op.EWMA, R(5, 0), imm(8), R(4, 13)));
  }
  const c = roundTrip(hex(INSTALL_C));
  assert.ok(c.type === MsgType.INSTALL_EXPR && c.programUid === 3 && c.events.length === 3);
  if (c.type === MsgType.INSTALL_EXPR) {
    assert.deepEqual(c.instructions[10], ins(Op.NOTIF, R(8, 0), R(7, 0), R(4, 5)));
  }
});

// ---------------------------------------------------------------------------------------------
// Checklist A: encoding.

test('[A.1] integers are little-endian and no padding is inserted', () => {
  const b = encodeCreate({
    sid: 0x04030201,
    initCwnd: 0x08070605,
    mss: 0x0c0b0a09,
    srcIp: 0x100f0e0d,
    srcPort: 0x14131211,
    dstIp: 0x18171615,
    dstPort: 0x1c1b1a19,
    congAlg: '',
  });
  assert.equal(toHex(b.subarray(4, 32)), '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c');
  // UPDATE record: 13 bytes, u32 index at record offset 1, u64 value at 5 (unaligned, unpadded)
  const u = encodeUpdateFields(1, [
    { regType: 8, regIndex: 0x04030201, value: 0x0c0b0a0908070605n },
    { regType: 0, regIndex: 1, value: 2n },
  ]);
  assert.equal(u.length, 12 + 26);
  assert.equal(toHex(u.subarray(12, 25)), '080102030405060708090a0b0c');
  assert.equal(toHex(u.subarray(25, 38)), '00010000000200000000000000');
});

test('[A.2] the header is 8 bytes: u16 type, u16 Len, u32 SocketId', () => {
  const b = encodeChangeProg(0xa1b2c3d4, 9, []);
  assert.equal(toHex(b.subarray(0, 8)), '04001000d4c3b2a1');
  assert.equal(readType(b, 0), 4);
  assert.equal(readSid(b, 0), 0xa1b2c3d4);
});

test('[A.3] Len equals the total number of bytes of every encoded message', () => {
  const msgs: Buffer[] = [
    encodeReady(1),
    encodeCreate({ sid: 1, initCwnd: 1, mss: 1, srcIp: 1, srcPort: 1, dstIp: 1, dstPort: 1, congAlg: 'x' }),
    encodeMeasure(1, 1, [1n, 2n, 3n]),
    encodeInstall(1, EVENTS_12_6, PROGRAM_12_6),
    encodeUpdateFields(1, [{ regType: 2, regIndex: 4, value: 1n }]),
    encodeChangeProg(1, 1, [{ regType: 2, regIndex: 4, value: 1n }]),
  ];
  for (const m of msgs) assert.equal(m.readUInt16LE(2), m.length);
});

test('[A.4] INSTALL_EXPR uses type 2, SocketId 0 and Len = 20 + 16·E + 16·I', () => {
  const b = encodeInstall(7, EVENTS_12_6, PROGRAM_12_6);
  assert.equal(b.readUInt16LE(0), 2);
  assert.equal(b.readUInt32LE(4), 0);
  assert.equal(b.readUInt16LE(2), 20 + 16 * 1 + 16 * 3);
  assert.equal(b.length, 84);
});

test('[A.5] INSTALL body: uid, E, I, then E event records, then I instruction records', () => {
  const events = [
    { condStart: 1, condCount: 2, bodyStart: 3, bodyCount: 0 },
    { condStart: 3, condCount: 1, bodyStart: 4, bodyCount: 1 },
  ];
  const prog = [0, 1, 2, 3, 4].map((i) => ins(Op.BIND, R(3, i), R(3, i), imm(i)));
  const b = encodeInstall(0x11223344, events, prog);
  assert.deepEqual([b.readUInt32LE(8), b.readUInt32LE(12), b.readUInt32LE(16)], [0x11223344, 2, 5]);
  assert.deepEqual(
    [0, 1, 2, 3].map((k) => b.readUInt32LE(20 + 4 * k)),
    [1, 2, 3, 0],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((k) => b.readUInt32LE(36 + 4 * k)),
    [3, 1, 4, 1],
  );
  for (let j = 0; j < 5; j++) assert.equal(b.readUInt32LE(52 + 16 * j + 12), j);
  assert.equal(b.length, 52 + 5 * 16);
});

test('[A.6] instruction record: op, type, idx@2, type, idx@7, type, idx@12', () => {
  const b = encodeInstall(1, [], [ins(0x0e, R(0x07, 0x44332211), R(0x04, 0x88776655), R(0x01, 0xccbbaa99))]);
  assert.equal(toHex(b.subarray(20, 36)), '0e0711223344' + '0455667788' + '0199aabbcc');
});

test('[A.7] the portus test program with uid 7 and SocketId 1 is exactly the 84 bytes of §12.6', () => {
  assert.equal(toHex(encodeInstall(7, EVENTS_12_6, PROGRAM_12_6, 1)), toHex(hex(INSTALL_12_6)));
});

test('[A.8] UPDATE_FIELDS uses type 3, Len = 12 + 13·n, 13-byte records', () => {
  for (const n of [0, 1, 2, 50, 127]) {
    const ups = Array.from({ length: n }, (_, i) => ({ regType: 0, regIndex: i, value: BigInt(i) }));
    const b = encodeUpdateFields(5, ups);
    assert.equal(b.readUInt16LE(0), 3);
    assert.equal(b.readUInt16LE(2), 12 + 13 * n);
    assert.equal(b.length, 12 + 13 * n);
    for (let i = 0; i < n; i++) assert.equal(b.readUInt32LE(12 + 13 * i + 1), i);
  }
});

test('[A.9] UPDATE_FIELDS Cwnd+Rate bytes', () => {
  const b = encodeUpdateFields(1, [
    { regType: RegType.IMPLICIT, regIndex: 4, value: 42n },
    { regType: RegType.IMPLICIT, regIndex: 5, value: 10 },
  ]);
  assert.equal(toHex(b), toHex(hex(UPDATE_2)));
});

test('[A.10] UPDATE_FIELDS with more than 127 records is refused (ENCODE)', () => {
  const ups = (n: number) => Array.from({ length: n }, () => ({ regType: 2, regIndex: 4, value: 1n }));
  assert.equal(encodeUpdateFields(1, ups(127)).length, 12 + 13 * 127);
  assert.throws(() => encodeUpdateFields(1, ups(128)), isEncodeError);
  // CHANGE_PROG's limit is 222
  assert.equal(encodeChangeProg(1, 1, ups(222)).length, 16 + 13 * 222);
  assert.throws(() => encodeChangeProg(1, 1, ups(223)), isEncodeError);
});

test('[A.11] CHANGE_PROG uses type 4, Len = 16 + 13·n; sid 1, uid 7, Cwnd←42 is the 29 bytes of §12.5', () => {
  const b = encodeChangeProg(1, 7, [{ regType: 2, regIndex: 4, value: 42n }]);
  assert.equal(toHex(b), toHex(hex(CHANGE_1)));
  assert.equal(b.length, 16 + 13);
});

test('[A.12] CHANGE_PROG without updates for sid 1, uid 1 is exactly 16 bytes', () => {
  assert.equal(toHex(encodeChangeProg(1, 1, [])), '04001000010000000100000000000000');
});

test('[A.13] update values are u64: 2^40 and 2^64−1 are encoded in 8 bytes', () => {
  const b = encodeUpdateFields(1, [
    { regType: 0, regIndex: 0, value: 2n ** 40n },
    { regType: 0, regIndex: 1, value: 2n ** 64n - 1n },
  ]);
  assert.equal(toHex(b.subarray(17, 25)), '0000000000010000');
  assert.equal(toHex(b.subarray(30, 38)), 'ffffffffffffffff');
  assert.throws(() => encodeUpdateFields(1, [{ regType: 0, regIndex: 0, value: 2n ** 64n }]), isEncodeError);
  assert.throws(() => encodeUpdateFields(1, [{ regType: 0, regIndex: 0, value: -1n }]), isEncodeError);
  assert.throws(() => encodeUpdateFields(1, [{ regType: 0, regIndex: 0, value: 2 ** 53 }]), isEncodeError);
});

test('[A.14] no encoded message exceeds 32678 bytes: the largest allowed ones are far below', () => {
  const big = [
    encodeInstall(
      1,
      Array.from({ length: 256 }, () => ({ condStart: 0, condCount: 255, bodyStart: 0, bodyCount: 255 })),
      Array.from({ length: 255 }, () => ins(1, R(3, 0), R(3, 0), imm(1))),
    ),
    encodeChangeProg(
      1,
      1,
      Array.from({ length: 222 }, () => ({ regType: 0, regIndex: 0, value: 0n })),
    ),
    encodeMeasure(1, 1, new Array<bigint>(110).fill(1n)),
  ];
  for (const b of big) assert.ok(b.length <= 32678, `${b.length}`);
  assert.throws(
    () => encodeInstall(1, [], new Array(256).fill(ins(1, R(3, 0), R(3, 0), imm(1)))),
    isEncodeError,
  );
  assert.throws(
    () =>
      encodeInstall(1, new Array(257).fill({ condStart: 0, condCount: 0, bodyStart: 0, bodyCount: 0 }), []),
    isEncodeError,
  );
  // an event range must stay inside the instruction array (so none reaches index 256)
  assert.throws(
    () =>
      encodeInstall(
        1,
        [{ condStart: 0, condCount: 1, bodyStart: 1, bodyCount: 1 }],
        PROGRAM_12_6.slice(0, 1),
      ),
    isEncodeError,
  );
  assert.throws(() => encodeMeasure(1, 1, new Array<bigint>(111).fill(1n)), isEncodeError);
});

test('[A.15] each encoder returns exactly one message (framing finds one message spanning it)', () => {
  const out = Buffer.alloc(1024, 0xee);
  const msgs = [
    encodeInstall(7, EVENTS_12_6, PROGRAM_12_6),
    encodeUpdateFields(1, [{ regType: 2, regIndex: 4, value: 42n }], Buffer.alloc(64)),
    encodeChangeProg(1, 7, [], Buffer.alloc(64)),
  ];
  for (const m of msgs) {
    const { messages, error } = splitMessages(m);
    assert.equal(error, null);
    assert.equal(messages.length, 1);
    assert.equal(messages[0]!.length, m.length);
  }
  // with `out`, the message is written into it (same memory) and nothing past it is touched
  const u = encodeUpdateFields(1, [{ regType: 2, regIndex: 4, value: 42n }], out);
  assert.equal(u.buffer, out.buffer);
  assert.equal(toHex(u), toHex(hex(UPDATE_1)));
  assert.equal(out[25], 0xee);
  assert.throws(
    () => encodeUpdateFields(1, [{ regType: 2, regIndex: 4, value: 1n }], Buffer.alloc(24)),
    isEncodeError,
  );
});

// ---------------------------------------------------------------------------------------------
// Checklist B: decoding.

test('[B.16] READY 05 00 0c 00 00 00 00 00 aa 00 00 00 decodes to READY id 0xaa', () => {
  assert.deepEqual(decode(hex(READY_AA)), { type: MsgType.READY, sid: 0, id: 0xaa });
});

test('[B.17] the 96-byte CREATE of §12.2 decodes to its fields and "my-cool-alg"', () => {
  assert.deepEqual(decode(hex(CREATE_TEST)), {
    type: MsgType.CREATE,
    sid: 1,
    initCwnd: 100,
    mss: 10,
    srcIp: 1,
    srcPort: 2,
    dstIp: 3,
    dstPort: 4,
    congAlg: 'my-cool-alg',
  });
});

test('[B.18] a CREATE whose congAlg starts with NUL decodes to "" (no algorithm requested)', () => {
  const b = hex(CREATE_TEST);
  b[32] = 0; // "\0y-cool-alg": bytes after the first NUL do not count
  const m = decode(b);
  assert.ok(m.type === MsgType.CREATE);
  assert.equal(m.type === MsgType.CREATE && m.congAlg, '');
});

test('[B.19] a CREATE whose congAlg has 64 non-NUL bytes decodes to the full 64-byte name', () => {
  const b = hex(CREATE_TEST);
  for (let i = 0; i < 64; i++) b[32 + i] = i === 10 ? 0xe9 : 0x61 + (i % 26); // includes a Latin-1 byte
  const m = decode(b);
  assert.ok(m.type === MsgType.CREATE);
  if (m.type !== MsgType.CREATE) return;
  assert.equal(m.congAlg.length, 64);
  assert.equal(m.congAlg.charCodeAt(10), 0xe9);
  assert.equal(toHex(encode(m)), toHex(b));
});

test('[B.20] the 40-byte MEASURE of §12.3 decodes to sid 1, uid 1, fields [40, 4000, 40]', () => {
  const b = hex(MEASURE_3);
  assert.deepEqual(decode(b), {
    type: MsgType.MEASURE,
    sid: 1,
    programUid: 1,
    numFields: 3,
    fields: [40n, 4000n, 40n],
  });
  // the zero-allocation accessors agree
  assert.equal(readSid(b, 0), 1);
  assert.equal(measureProgramUid(b, 0), 1);
  assert.equal(measureNumFields(b, 0), 3);
  assert.equal(measureFieldCount(b, 0), 3);
  assert.deepEqual(
    [0, 1, 2].map((i) => measureField(b, 0, i)),
    [40, 4000, 40],
  );
});

test('[B.21] MEASURE fields are u64 without loss above 2^53 (0xFFFFFFFFFFFFFFFF round-trips)', () => {
  const vals = [0xffffffffffffffffn, 2n ** 53n + 1n, 0x8000000000000000n, 0n];
  const b = encodeMeasure(2, 3, vals);
  const m = decode(b);
  assert.ok(m.type === MsgType.MEASURE);
  assert.deepEqual(m.type === MsgType.MEASURE && m.fields, vals);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => measureFieldBig(b, 0, i)),
    vals,
  );
  assert.equal(measureField(b, 0, 1), 2 ** 53); // the number accessor rounds above 2^53
  assert.equal(toHex(encode(m)), toHex(b));
});

test('[B.22] a buffer with two concatenated messages yields both, in order', () => {
  const buf = Buffer.concat([hex(MEASURE_3), hex(CREATE_KERNEL), hex(MEASURE_CLOSE)]);
  const seen: Array<[number, number, number]> = [];
  const err = forEachMessage(buf, (b, off, type, len) => {
    assert.equal(b, buf);
    seen.push([off, type, len]);
  });
  assert.equal(err, null);
  assert.deepEqual(seen, [
    [0, 1, 40],
    [40, 0, 96],
    [136, 1, 16],
  ]);
  assert.deepEqual(decode(buf, 40), decode(hex(CREATE_KERNEL)));
});

test('[B.23] Len < 8 or Len beyond the buffer discards the rest without crashing or affecting later receives', () => {
  for (const badLen of [0, 7, 200]) {
    const bad = hex(MEASURE_3);
    bad.writeUInt16LE(badLen, 2);
    const buf = Buffer.concat([hex(READY_AA), bad, hex(MEASURE_CLOSE)]);
    const seen: number[] = [];
    const err = forEachMessage(buf, (_b, _off, type) => seen.push(type));
    assert.deepEqual(seen, [MsgType.READY]); // the rest was discarded
    assert.ok(err instanceof WireError);
    assert.equal(err.kind, badLen < 8 ? 'bad-length' : 'truncated');
    assert.throws(() => decode(bad), wireKind(badLen < 8 ? 'bad-length' : 'truncated'));
  }
  // trailing bytes shorter than a header
  const seen: number[] = [];
  const err = forEachMessage(Buffer.concat([hex(READY_AA), Buffer.from([5, 0, 12])]), (_b, _o, t) =>
    seen.push(t),
  );
  assert.deepEqual(seen, [MsgType.READY]);
  assert.equal(err?.kind, 'truncated');
  // a later receive is unaffected
  const later: number[] = [];
  assert.equal(
    forEachMessage(hex(MEASURE_3), (_b, _o, t) => later.push(t)),
    null,
  );
  assert.deepEqual(later, [MsgType.MEASURE]);
});

test('[B.24] the type is compared as a full u16: 0x0101 is not MEASURE', () => {
  const b = hex(MEASURE_3);
  b.writeUInt16LE(0x0101, 0);
  assert.throws(() => decode(b), wireKind('unknown-type'));
  const types: number[] = [];
  assert.equal(
    forEachMessage(b, (_b, _o, t) => types.push(t)),
    null,
  );
  assert.deepEqual(types, [0x0101]);
});

test('[B.25] types the agent does not handle (2, 3, 4, ≥ 6) are framed and passed on, never fatal', () => {
  const odd = Buffer.from([6, 0, 12, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
  const big = Buffer.from([0xff, 0xff, 8, 0, 0, 0, 0, 0]);
  const buf = Buffer.concat([hex(INSTALL_12_6), hex(UPDATE_1), hex(CHANGE_0), odd, big, hex(MEASURE_3)]);
  const types: number[] = [];
  assert.equal(
    forEachMessage(buf, (_b, _o, t) => types.push(t)),
    null,
  );
  assert.deepEqual(types, [2, 3, 4, 6, 0xffff, 1]);
  assert.throws(() => decode(odd), wireKind('unknown-type'));
});

// ---------------------------------------------------------------------------------------------
// Further decoding rules.

test('layout errors: wrong fixed sizes, field and update limits, libccp count quirk', () => {
  const ready13 = Buffer.concat([hex(READY_AA), Buffer.from([0])]);
  ready13.writeUInt16LE(13, 2);
  assert.throws(() => decode(ready13), wireKind('bad-length'));
  const m = hex(MEASURE_3).subarray(0, 36);
  m.writeUInt16LE(36, 2);
  assert.throws(() => decode(m), wireKind('bad-length'));
  const many = Buffer.alloc(16 + 8 * 111);
  many.writeUInt16LE(1, 0);
  many.writeUInt16LE(many.length, 2);
  assert.throws(() => decode(many), wireKind('too-many-fields'));
  // UPDATE_FIELDS count: libccp reads one signed byte — 01 01 00 00 is 1, 0x80 is too many
  const quirk = hex(UPDATE_1);
  quirk[9] = 1;
  const q = decode(quirk);
  assert.ok(q.type === MsgType.UPDATE_FIELDS && q.updates.length === 1);
  const neg = hex(UPDATE_1);
  neg[8] = 0x80;
  assert.throws(() => decode(neg), wireKind('too-many-updates'));
  const cp = hex(CHANGE_0);
  cp.writeUInt32LE(223, 12);
  assert.throws(() => decode(cp), wireKind('too-many-updates'));
  const inst = hex(INSTALL_12_6);
  inst.writeUInt32LE(3, 20 + 12); // body count 3 from index 2 → past the 3 instructions
  assert.throws(() => decode(inst), wireKind('bad-event-range'));
  assert.throws(() => decode(Buffer.alloc(0)), wireKind('truncated'));
  assert.throws(() => decode(hex(READY_AA), 13), wireKind('bad-input'));
  // a message is decoded at an offset; bytes after its Len are ignored
  assert.deepEqual(decode(Buffer.concat([Buffer.from([9, 9]), hex(READY_AA), Buffer.from([1, 2, 3])]), 2), {
    type: MsgType.READY,
    sid: 0,
    id: 0xaa,
  });
  // a Uint8Array that is not a Buffer decodes too
  assert.equal(decode(new Uint8Array(hex(READY_AA))).type, MsgType.READY);
});

test('encoders refuse out-of-range values with PortusError(ENCODE)', () => {
  assert.throws(() => encodeReady(-1), isEncodeError);
  assert.throws(() => encodeReady(2 ** 32), isEncodeError);
  const base = { sid: 1, initCwnd: 1, mss: 1, srcIp: 1, srcPort: 1, dstIp: 1, dstPort: 1, congAlg: '' };
  assert.throws(() => encodeCreate({ ...base, congAlg: 'x'.repeat(65) }), isEncodeError);
  assert.throws(() => encodeCreate({ ...base, congAlg: 'a\0b' }), isEncodeError);
  assert.throws(() => encodeCreate({ ...base, congAlg: 'ā' }), isEncodeError);
  assert.throws(() => encodeCreate({ ...base, mss: 1.5 }), isEncodeError);
  assert.throws(() => encodeInstall(1, [], [ins(256, R(3, 0), R(3, 0), imm(0))]), isEncodeError);
  assert.throws(() => encodeInstall(1, [], [ins(1, R(3, 0), R(3, 0), imm(2 ** 32))]), isEncodeError);
  assert.throws(() => encodeUpdateFields(1, [{ regType: 256, regIndex: 0, value: 0n }]), isEncodeError);
});
