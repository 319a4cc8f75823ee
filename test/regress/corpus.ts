// The reliability campaign's inputs as a deterministic corpus (issue 12): mutated datapath programs
// and hostile datagrams, generated from a fixed seed so that every CI run replays exactly the same
// cases (a failure names its case index; regenerate it with the same seed to debug).

/** mulberry32: a small, fast, seeded PRNG (uniform in [0, 1)). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: () => number, n: number): number => Math.floor(r() * n);

/** Tokens the mutator splices in: the language's own vocabulary plus hostile values. */
const TOKENS = [
  '(',
  ')',
  '(def',
  '(when',
  '(report)',
  '(fallthrough)',
  ':=',
  '+',
  '-',
  '*',
  '/',
  '&&',
  '||',
  '!',
  'if',
  'max',
  'min',
  'true',
  'false',
  '+infinity',
  'Report.',
  'Ack.bytes_acked',
  'Flow.rtt_sample_us',
  'Micros',
  'Cwnd',
  'Rate',
  'volatile',
  '0',
  '1',
  '-1',
  '4294967295',
  '18446744073709551616',
  '1e308',
  '0x10',
  '1.5',
  '\u0000',
  '\uFEFF',
  '\u00e9',
  '"',
  ';',
  '\n',
  '\t',
  ' ',
  '#',
  '__x',
];

/** One mutation of `src`: delete, duplicate, swap, splice a token, nest deeply, or flip a char. */
function mutateOnce(r: () => number, src: string): string {
  const i = int(r, src.length + 1);
  const j = Math.min(src.length, i + 1 + int(r, 12));
  switch (int(r, 8)) {
    case 0:
      return src.slice(0, i) + src.slice(j);
    case 1:
      return src.slice(0, j) + src.slice(i, j) + src.slice(j);
    case 2:
      return src.slice(0, i) + ' ' + pick(r, TOKENS) + ' ' + src.slice(i);
    case 3: {
      const k = int(r, src.length + 1);
      return (
        src.slice(0, Math.min(i, k)) + src.slice(Math.max(i, k)) + src.slice(Math.min(i, k), Math.max(i, k))
      );
    }
    case 4: {
      const depth = 1 + int(r, 400);
      return src.slice(0, i) + '(+ 1 '.repeat(depth) + '1' + ')'.repeat(depth) + src.slice(i);
    }
    case 5:
      return src.slice(0, i) + String.fromCharCode(int(r, 0x3000)) + src.slice(i + 1);
    case 6:
      return src.slice(0, i) + src.slice(i, j).toUpperCase() + src.slice(j);
    default:
      return src.slice(0, i) + pick(r, TOKENS) + src.slice(j);
  }
}

/** `count` mutated programs from `seeds` (1–4 mutations each), deterministic for `seed`. */
export function mutatedPrograms(seeds: readonly string[], count: number, seed = 12): string[] {
  const r = rng(seed);
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    let s = pick(r, seeds);
    const k = 1 + int(r, 4);
    for (let m = 0; m < k; m++) s = mutateOnce(r, s);
    out.push(s);
  }
  return out;
}

/** Little-endian CCP header: type, len, sid. */
function header(b: Buffer, type: number, len: number, sid: number): void {
  b.writeUInt16LE(type & 0xffff, 0);
  b.writeUInt16LE(len & 0xffff, 2);
  b.writeUInt32LE(sid >>> 0, 4);
}

const U32_EDGES = [
  0, 1, 2, 9, 10, 11, 15, 16, 127, 128, 222, 255, 256, 0x7fff, 0xffff, 0x10000, 0x7fffffff, 0xffffffff,
];

/**
 * `count` hostile datagrams, deterministic for `seed`: random bytes, valid-looking headers with
 * wrong lengths, every message type with edge-case counts and sids, truncations, several
 * messages per datagram, CREATE floods with distinct sids.
 */
export function hostileDatagrams(count: number, seed = 7): Buffer[] {
  const r = rng(seed);
  const out: Buffer[] = [];
  for (let n = 0; n < count; n++) {
    const kind = int(r, 9);
    let b: Buffer;
    if (kind === 0) {
      b = Buffer.alloc(int(r, 200));
      for (let i = 0; i < b.length; i++) b[i] = int(r, 256);
    } else if (kind === 1) {
      // a header whose Len disagrees with the datagram
      b = Buffer.alloc(8 + int(r, 64));
      header(b, int(r, 7), pick(r, [0, 1, 7, 8, b.length - 1, b.length + 1, 0xffff]), int(r, 4));
    } else if (kind === 2) {
      // MEASURE with an edge-case field count
      const nf = pick(r, U32_EDGES);
      const room = Math.min(nf, int(r, 40));
      b = Buffer.alloc(16 + 8 * room);
      header(b, 1, b.length, pick(r, U32_EDGES));
      b.writeUInt32LE(pick(r, U32_EDGES), 8);
      b.writeUInt32LE(nf >>> 0, 12);
      for (let i = 16; i < b.length; i++) b[i] = int(r, 256);
    } else if (kind === 3) {
      // CREATE with a distinct sid (a flood), sometimes truncated or with a hostile alg name
      b = Buffer.alloc(96);
      header(b, 0, 96, n + 1);
      for (let i = 8; i < 32; i++) b[i] = int(r, 256);
      const name = pick(r, ['', 'reno', '\u0000\u0001', 'x'.repeat(64), '../../etc/passwd']);
      b.write(name.slice(0, 64), 32, 'latin1');
      if (r() < 0.2) b = b.subarray(0, int(r, 96));
    } else if (kind === 4) {
      // READY with random ids, sometimes short
      b = Buffer.alloc(pick(r, [8, 11, 12, 16]));
      header(b, 5, b.length, 0);
      if (b.length >= 12) b.writeUInt32LE(int(r, 2 ** 32), 8);
    } else if (kind === 5) {
      // agent-to-datapath types (INSTALL, UPDATE_FIELDS, CHANGE_PROG) with edge counts
      const type = pick(r, [2, 3, 4]);
      b = Buffer.alloc(16 + 13 * int(r, 12));
      header(b, type, b.length, pick(r, U32_EDGES));
      b.writeUInt32LE(pick(r, U32_EDGES), 8);
      b.writeUInt32LE(pick(r, U32_EDGES), 12);
      for (let i = 16; i < b.length; i++) b[i] = int(r, 256);
    } else if (kind === 6) {
      // unknown types
      b = Buffer.alloc(16);
      header(b, pick(r, [6, 7, 0x0909, 0xffff, 257]), 16, 1);
    } else if (kind === 7) {
      // several messages in one datagram, the last one cut
      const parts: Buffer[] = [];
      for (let i = 0; i < 2 + int(r, 4); i++) {
        const p = Buffer.alloc(16 + 8 * int(r, 4));
        header(p, 1, p.length, 1 + int(r, 3));
        p.writeUInt32LE(1, 8);
        p.writeUInt32LE((p.length - 16) / 8, 12);
        parts.push(p);
      }
      b = Buffer.concat(parts);
      b = b.subarray(0, b.length - int(r, 8));
    } else {
      // a close (MEASURE with 0 fields) for a random sid
      b = Buffer.alloc(16);
      header(b, 1, 16, pick(r, U32_EDGES));
    }
    out.push(b);
  }
  return out;
}
