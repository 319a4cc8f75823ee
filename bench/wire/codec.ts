/**
 * Wire codec micro-benchmark: nanoseconds per operation on the agent's hot path (framing a
 * received MEASURE and reading its fields with the zero-allocation accessors; encoding an
 * UPDATE_FIELDS into a reused buffer), next to the allocating `decode` as a baseline, and the
 * heap growth per hot-path operation (≈ 0 B when nothing is allocated).
 *
 * Run: `node --expose-gc --import tsx bench/wire/codec.ts`
 * @module
 */
import { pathToFileURL } from 'node:url';
import {
  decode,
  encodeMeasure,
  encodeUpdateFields,
  forEachMessage,
  measureField,
  measureFieldCount,
  measureProgramUid,
  readSid,
} from '../../src/wire/index.ts';
import type { UpdateRecordInput } from '../../src/wire/index.ts';

/** One measured operation. */
export interface CodecBenchRow {
  name: string;
  nsPerOp: number;
  /** Heap growth per operation in bytes (meaningful with --expose-gc). */
  bytesPerOp: number;
}

function measure(name: string, iters: number, fn: (i: number) => void): CodecBenchRow {
  for (let i = 0; i < Math.min(iters, 200_000); i++) fn(i); // warm up (JIT)
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) fn(i);
  const t1 = process.hrtime.bigint();
  const heap1 = process.memoryUsage().heapUsed;
  return { name, nsPerOp: Number(t1 - t0) / iters, bytesPerOp: Math.max(0, heap1 - heap0) / iters };
}

/** Run the codec benchmark; returns one row per operation. */
export function benchCodec(iters = 2_000_000): CodecBenchRow[] {
  const report = encodeMeasure(7, 1, [40n, 4000n, 40n, 123456789n, 0n]);
  let sink = 0;
  const visit = (b: Buffer, off: number): void => {
    sink += readSid(b, off) + measureProgramUid(b, off);
    const n = measureFieldCount(b, off);
    for (let i = 0; i < n; i++) sink += measureField(b, off, i);
  };
  const out = Buffer.alloc(64);
  const updates: UpdateRecordInput[] = [
    { regType: 2, regIndex: 4, value: 14480 },
    { regType: 2, regIndex: 5, value: 0 },
  ];
  const rows = [
    measure('forEachMessage + MEASURE accessors (5 fields)', iters, () => {
      forEachMessage(report, visit);
    }),
    measure('encodeUpdateFields(Cwnd, Rate) into a reused buffer', iters, (i) => {
      updates[0]!.value = 14480 + (i & 1023);
      encodeUpdateFields(7, updates, out);
    }),
    measure('decode(MEASURE) (allocating baseline)', iters / 4, () => {
      const m = decode(report);
      sink += m.sid;
    }),
  ];
  if (sink === -1) console.log(sink); // keep the work observable
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of benchCodec()) {
    console.log(
      `${r.name.padEnd(55)} ${r.nsPerOp.toFixed(1).padStart(7)} ns/op ${r.bytesPerOp.toFixed(1).padStart(7)} B/op`,
    );
  }
}
