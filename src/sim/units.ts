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
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-zA-Z%/µ]*)\s*$/.exec(v);
  if (!m) return null;
  const n = Number(m[1]);
  if (!Number.isFinite(n)) return null;
  return [n, m[2]!.toLowerCase()];
}

/**
 * A bare number (no unit) is refused: `--rtt 50` would otherwise mean 50 seconds and `--link 48`
 * 48 bit/s. Zero needs no unit.
 */
function bare(what: string, v: string | number, n: number, units: string): never {
  bad(what, v, `a ${what} needs a unit, e.g. ${units.replace(/N/g, String(n))}`);
}

function finite(what: string, v: string | number, x: number, hint: string): number {
  if (!Number.isFinite(x)) bad(what, v, hint);
  return x;
}

const RATE: Record<string, number> = {
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

/**
 * A link rate in bits per second: `48mbps`, `1.5Gbit/s`, `800kbps`, `9600bps`. A bare number is
 * refused with a suggestion (`48` → "e.g. 48mbps").
 */
export function parseRate(v: string | number): number {
  const p = typeof v === 'number' ? (Number.isFinite(v) ? ([v, ''] as [number, string]) : null) : split(v);
  if (p !== null && p[1] === '') bare('rate', v, p[0], 'Nmbps, Nkbps or Nbps');
  const mult = p ? RATE[p[1]] : undefined;
  if (!p || mult === undefined || !(p[0] > 0)) bad('rate', v, 'expected e.g. 48mbps, 800kbps, 1gbps');
  return finite('rate', v, p[0] * mult, 'too large');
}

const TIME: Record<string, number> = {
  us: 1,
  µs: 1,
  ms: 1e3,
  s: 1e6,
  sec: 1e6,
  m: 60e6,
  min: 60e6,
  h: 3600e6,
};

/**
 * A duration in microseconds: `50ms`, `30s`, `200us`, `2min`; `0` needs no unit. Any other bare
 * number is refused with a suggestion (`50` → "e.g. 50ms or 50s").
 */
export function parseTime(v: string | number): number {
  const p = typeof v === 'number' ? (Number.isFinite(v) ? ([v, ''] as [number, string]) : null) : split(v);
  if (p !== null && p[1] === '') {
    if (p[0] === 0) return 0;
    bare('time', v, p[0], 'Nms or Ns');
  }
  const mult = p ? TIME[p[1]] : undefined;
  if (!p || mult === undefined || !(p[0] >= 0)) bad('time', v, 'expected e.g. 50ms, 30s, 200us');
  return finite('time', v, p[0] * mult, 'too large');
}

/** A size: bytes, packets, or a multiple of the bandwidth-delay product. */
export type Size = { bytes: number } | { packets: number } | { bdp: number };

const BYTES: Record<string, number> = {
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
 * A size: `30kb` (1000 bytes), `64KiB`, `1500b` / `1500bytes`, `100pkts` / `100packets`,
 * `1bdp` / `0.5xbdp`; `0` needs no unit. Any other bare number is refused with a suggestion.
 */
export function parseSize(v: string | number): Size {
  const s =
    typeof v === 'number'
      ? String(v)
      : v
          .trim()
          .toLowerCase()
          .replace(/\s*(x|×)\s*bdp$/, 'bdp');
  const p = split(s);
  if (!p || !(p[0] >= 0)) bad('size', v, 'expected e.g. 30kb, 64pkts, 1bdp');
  const [n, u] = p;
  if (u === '') {
    if (n === 0) return { bytes: 0 };
    bare('size', v, n, 'Nb (bytes), Npkts or Nbdp');
  }
  if (u === 'bdp') return { bdp: n };
  if (u === 'p' || u === 'pkt' || u === 'pkts' || u === 'packet' || u === 'packets') return { packets: n };
  const mult = BYTES[u];
  if (mult === undefined) bad('size', v, 'expected e.g. 30kb, 64pkts, 1bdp');
  return { bytes: finite('size', v, n * mult, 'too large') };
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
