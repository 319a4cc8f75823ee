// Cubic's HyStart report programs (src/algorithms/hystart.ts) on the real libccp: the three
// variants (per RTT, per ACK, fixed interval) run the same ACK sequence through libccp and the
// TypeScript datapath machine; every message, register and Cwnd must be identical, and the
// reports carry the minimum of the latest block of 8 RTT samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getAlgorithm } from '../../src/algorithms/index.ts';
import { compile } from '../../src/lang/index.ts';
import { decode, encodeChangeProg, encodeInstall, MsgType } from '../../src/wire/index.ts';
import { needsLibccp, buildDrivers, runNative, runTs } from '../bpf/drivers.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A script: one flow on `text`, 40 ACKs 5 ms apart with RTT samples 50 ms + 1 ms per ACK. */
function script(text: string): string {
  const p = compile(text, { uid: 1 });
  const lines = ['time 1000', 'init 1000000 3 10', 'start 14480 1448'];
  lines.push(`recv ${hex(encodeInstall(p.uid, p.events, p.instructions))}`);
  lines.push(`recv ${hex(encodeChangeProg(1, 1, []))}`);
  let now = 1000;
  for (let i = 0; i < 40; i++) {
    now += 5000;
    const rtt = 50_000 + i * 1000;
    // bytes_acked packets_acked misordered(2) ecn(2) lost inflight(bytes, pkts) cwnd pending rtt rates(3) timeout
    lines.push(`time ${now}`, `ack 1 2896 2 0 0 0 0 0 28960 20 28960 0 ${rtt} 0 0 0 0`, 'regs 1');
  }
  lines.push('free 1');
  return lines.join('\n') + '\n';
}

test(
  'hystart report programs: libccp = TypeScript datapath; hsrtt is the latest block of 8 samples',
  {
    skip: needsLibccp,
  },
  () => {
    const drivers = buildDrivers();
    for (const extra of [{}, { per_ack: 'true' }, { report_interval_ms: '30' }]) {
      const progs = getAlgorithm('cubic', { hystart: 'true', ...extra }).datapathPrograms();
      const [name, text] = Object.entries(progs)[0]!;
      const s = script(text);
      const ref = runNative(drivers.libccp, s);
      assert.deepEqual(runTs(s), ref, name);
      const scope = compile(text, { uid: 1 }).scope;
      const reports = ref
        .filter((l) => l.startsWith('send '))
        .map((l) => decode(Buffer.from(l.slice(5), 'hex')))
        .filter((m) => m.type === MsgType.MEASURE);
      assert.ok(reports.length >= 2, `${name}: ${reports.length} reports`);
      const field = (m: (typeof reports)[number], f: string): bigint =>
        m.type === MsgType.MEASURE ? m.fields[scope.reportIndex(f)]! : -1n;
      // samples rise by 1 ms per ACK: a block's minimum is its first sample, 50 ms + 8k ms
      const blocks = reports.filter((m) => field(m, 'hssamples') > 0n);
      assert.ok(blocks.length >= 2, `${name}: reports with a complete block`);
      for (const m of blocks) assert.equal((field(m, 'hsrtt') - 50_000n) % 8000n, 0n, name);
      assert.ok(field(blocks.at(-1)!, 'hsrtt') > field(blocks[0]!, 'hsrtt'), name);
    }
  },
);
