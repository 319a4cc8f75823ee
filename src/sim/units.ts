/**
 * Parsing of the human units used by `portus sim` and scenario files: rates (`48mbps`), times
 * (`50ms`), sizes (`30kb`, `64pkts`, `1bdp`) and percentages (`0.01%`). Every parser throws
 * `PortusError(SIM_CONFIG)` naming the offending value.
 * @module
 */
import { ErrorCodes, PortusError } from '../errors.ts';

function bad(what: string, v: unknown, hint: string): never {
  throw new PortusError(ErrorCodes.SIM_CONFIG, `invalid ${what} ${JSON.stringify(v)}: ${hint}`);
}

function split(v: string): [number, string] | null {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-zA-Z%/]*)\s*$/.exec(v);
  if (!m) return null;
  return [Number(m[1]), m[2]!.toLowerCase()];
}

const RATE: Record<string, number> = {
  '': 1,
  bps: 1,
  'bit/s': 1,
  kbps: 1e3,
  'kbit/s': 1e3,
  kbit: 1e3,
  mbps: 1e6,
  'mbit/s': 1e6,
  mbit: 1e6,
  gbps: 1e9,
  'gbit/s': 1e9,
  gbit: 1e9,
};

/** A link rate in bits per second: `48mbps`, `1.5Gbit/s`, `800kbps`, or a plain number (bit/s). */
export function parseRate(v: string | number): number {
  if (typeof v === 'number') {
    if (Number.isFinite(v) && v > 0) return v;
    bad('rate', v, 'must be positive');
  }
  const p = split(v);
  const mult = p ? RATE[p[1]] : undefined;
  if (!p || mult === undefined || !(p[0] > 0)) bad('rate', v, 'expected e.g. 48mbps, 800kbps, 1gbps');
  return p[0] * mult;
}

const TIME: Record<string, number> = { us: 1, µs: 1, ms: 1e3, s: 1e6, '': 1e6, sec: 1e6, m: 60e6, min: 60e6 };

/** A duration in microseconds: `50ms`, `30s`, `200us`, `2min`, or a plain number (seconds). */
export function parseTime(v: string | number): number {
  if (typeof v === 'number') {
    if (Number.isFinite(v) && v >= 0) return v * 1e6;
    bad('time', v, 'must be a non-negative number of seconds');
  }
  const p = split(v);
  const mult = p ? TIME[p[1]] : undefined;
  if (!p || mult === undefined || !(p[0] >= 0)) bad('time', v, 'expected e.g. 50ms, 30s, 200us');
  return p[0] * mult;
}

/** A size: bytes, packets, or a multiple of the bandwidth-delay product. */
export type Size = { bytes: number } | { packets: number } | { bdp: number };

const BYTES: Record<string, number> = {
  '': 1,
  b: 1,
  byte: 1,
  bytes: 1,
  kb: 1e3,
  k: 1e3,
  kib: 1024,
  mb: 1e6,
  m: 1e6,
  mib: 1048576,
  gb: 1e9,
  gib: 1073741824,
};

/**
 * A size: `30kb` (1000 bytes), `64KiB`, `100pkts` / `100packets`, `1bdp` / `0.5xbdp`, or a plain
 * number of bytes.
 */
export function parseSize(v: string | number): Size {
  if (typeof v === 'number') {
    if (Number.isFinite(v) && v >= 0) return { bytes: v };
    bad('size', v, 'must be a non-negative number of bytes');
  }
  const s = v
    .trim()
    .toLowerCase()
    .replace(/\s*(x|×)\s*bdp$/, 'bdp');
  const p = split(s);
  if (!p || !(p[0] >= 0)) bad('size', v, 'expected e.g. 30kb, 64pkts, 1bdp');
  const [n, u] = p;
  if (u === 'bdp') return { bdp: n };
  if (u === 'p' || u === 'pkt' || u === 'pkts' || u === 'packet' || u === 'packets') return { packets: n };
  const mult = BYTES[u];
  if (mult === undefined) bad('size', v, 'expected e.g. 30kb, 64pkts, 1bdp');
  return { bytes: n * mult };
}

/** Resolve a {@link Size} to bytes given the packet size and the bandwidth-delay product. */
export function sizeToBytes(s: Size, packetBytes: number, bdpBytes: number): number {
  if ('bytes' in s) return Math.floor(s.bytes);
  if ('packets' in s) return Math.floor(s.packets * packetBytes);
  return Math.floor(s.bdp * bdpBytes);
}

/** A probability: `0.01%`, `1e-4`, or a plain number in [0, 1]. */
export function parseProbability(v: string | number): number {
  let x: number;
  if (typeof v === 'number') x = v;
  else {
    const t = v.trim();
    if (t.endsWith('%')) x = Number(t.slice(0, -1)) / 100;
    else x = Number(t);
  }
  if (!Number.isFinite(x) || x < 0 || x > 1) bad('probability', v, 'expected e.g. 0.01% or 0.0001');
  return x;
}

/** Format bits per second for humans: `47.9 Mbit/s`. */
export function formatRate(bps: number): string {
  if (!Number.isFinite(bps)) return '-';
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbit/s`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(1)} kbit/s`;
  return `${bps.toFixed(0)} bit/s`;
}
