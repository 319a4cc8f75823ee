/**
 * Mahimahi link traces: one line per delivery opportunity, each line a millisecond timestamp at
 * which one packet of up to 1500 bytes may leave the link. Timestamps are non-decreasing; a
 * timestamp repeated k times means k opportunities in that millisecond. The trace repeats with
 * a period equal to its last timestamp (as in mahimahi's `mm-link`).
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { ErrorCodes, PortusError } from '../errors.ts';

/** A parsed mahimahi trace. */
export interface Trace {
  /** Opportunity timestamps in ms, non-decreasing. */
  readonly opportunitiesMs: Float64Array;
  /** Repeat period in ms (the last timestamp). */
  readonly periodMs: number;
  /** Where it came from (file path or 'inline'). */
  readonly source: string;
}

/** Parse mahimahi trace text. Blank lines and `#` comments are ignored. */
export function parseTrace(text: string, source = 'inline'): Trace {
  const out: number[] = [];
  let prev = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const v = Number(line);
    if (!Number.isInteger(v) || v < 0) {
      throw new PortusError(
        ErrorCodes.SIM_CONFIG,
        // the line itself is never quoted: a trace pointed at a secret file must not print it
        `${source}:${i + 1}: not a millisecond timestamp (expected one non-negative integer per line)`,
      );
    }
    if (v < prev) {
      throw new PortusError(
        ErrorCodes.SIM_CONFIG,
        `${source}:${i + 1}: timestamps must be non-decreasing (${v} < ${prev})`,
      );
    }
    prev = v;
    out.push(v);
  }
  if (out.length === 0 || out[out.length - 1]! <= 0) {
    throw new PortusError(
      ErrorCodes.SIM_CONFIG,
      `${source}: a trace needs at least one opportunity after 0 ms`,
    );
  }
  return { opportunitiesMs: Float64Array.from(out), periodMs: out[out.length - 1]!, source };
}

/** Read and parse a mahimahi trace file. */
export function loadTrace(path: string): Trace {
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_TRACE_BYTES) throw new Error(`larger than ${MAX_TRACE_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new PortusError(ErrorCodes.SIM_CONFIG, `cannot read trace ${path}: ${why}`, { cause: e });
  }
  return parseTrace(text, path);
}

/** Largest trace file read (mahimahi's longest traces are a few MB). */
const MAX_TRACE_BYTES = 256 << 20;

/** Number of opportunities with time in [0, endMs] when the trace repeats forever. */
export function countOpportunities(trace: Trace, endMs: number): number {
  const ts = trace.opportunitiesMs;
  const cycles = Math.floor(endMs / trace.periodMs);
  let n = cycles * ts.length;
  const rem = endMs - cycles * trace.periodMs;
  for (let i = 0; i < ts.length && ts[i]! <= rem; i++) n++;
  return n;
}

/** Average capacity of a trace in bit/s (1500-byte packets). */
export function traceRate(trace: Trace): number {
  return (trace.opportunitiesMs.length * 1500 * 8) / (trace.periodMs / 1000);
}
