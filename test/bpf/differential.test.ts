// Differential test of the BPF datapath's execution logic (issue 16, item 2): random programs from
// our compiler and random ACK sequences, agent messages, program switches, slot reuse and failed
// sends run through (a) native/bpf/machine.h + program.c built as userspace C — the code the BPF
// program compiles — (b) the TypeScript datapath machine and (c) the real libccp. Registers after
// every ACK, every message sent (CREATE, MEASURE, close), every Cwnd/Rate callback and every return
// code must be identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from '../../src/lang/index.ts';
import { encodeChangeProg, encodeInstall, encodeUpdateFields } from '../../src/wire/index.ts';
import { genProgram, prng } from '../datapath/programs-gen.ts';
import { needsLibccp, buildDrivers, runNative, runTs } from './drivers.ts';

const PROGRAMS = 160;

type Rng = ReturnType<typeof prng>;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function u64(g: Rng): bigint {
  switch (g.int(5)) {
    case 0:
      return 0n;
    case 1:
      return BigInt(g.int(100));
    case 2:
      return BigInt(g.int(2 ** 31));
    case 3:
      return 0xffffffffn;
    default:
      return (BigInt(g.int(2 ** 32)) << 32n) | BigInt(g.int(2 ** 32));
  }
}

function ack(g: Rng, sid: number): string {
  const u32 = (): number => g.pick([0, 1, 1448, 14480, g.int(2 ** 32)]);
  const big = (): number => g.pick([0, 1, 40, 100000, g.int(2 ** 40)]);
  const prims = [
    g.pick([0, 1448, 2896, u32()]), // bytes_acked
    g.int(3), // packets_acked
    g.pick([0, 1448]), // bytes_misordered
    g.int(2), // packets_misordered
    g.pick([0, 1448]), // ecn_bytes
    g.int(2), // ecn_packets
    g.pick([0, 0, 1]), // lost_pkts_sample
    g.int(2 ** 20), // bytes_in_flight
    g.int(100), // packets_in_flight
    g.pick([0, 14480, 28960, u32()]), // snd_cwnd
    g.int(2 ** 20), // bytes_pending
    g.pick([0, 40, 1000, big()]), // rtt_sample_us
    big(), // rate_outgoing
    big(), // rate_incoming
    g.pick([0, 0, big()]), // snd_rate
    g.pick([0, 0, 0, 1]), // was_timeout
  ];
  return `ack ${sid} ${prims.join(' ')}`;
}

/** One script segment: a fresh datapath, one or two programs, flows coming and going. */
function segment(seed: number): { script: string; source: string } {
  const g = prng(seed ^ 0x2545f491);
  const gens = [genProgram(seed), genProgram(seed * 7 + 1)];
  const progs = gens.map((gen, i) => compile(gen.source, { uid: i + 1 }));
  const lines: string[] = [];
  let now = 1000 + g.int(1000);
  lines.push(`time ${now}`, `init ${g.pick([1000, 100000])} 3 10`);
  const live: number[] = [];
  const start = (): void => {
    lines.push(`start ${g.pick([14480, 4344, 0])} 1448`);
  };
  const updates = (k: number): Array<{ regType: number; regIndex: number; value: bigint }> => {
    const ups: Array<{ regType: number; regIndex: number; value: bigint }> = [];
    for (const name of [...gens[k]!.controls, 'Cwnd', 'Rate']) {
      if (g.chance(0.35)) {
        const t = progs[k]!.scope.resolveUpdate(name);
        const value = name === 'Cwnd' || name === 'Rate' ? BigInt(g.int(2 ** 31)) : u64(g);
        ups.push({ regType: t.regType, regIndex: t.regIndex, value });
      }
    }
    return ups;
  };
  start();
  live.push(1);
  for (const p of progs) lines.push(`recv ${hex(encodeInstall(p.uid, p.events, p.instructions))}`);
  lines.push(`recv ${hex(encodeChangeProg(1, 1, updates(0)))}`);
  const steps = 10 + g.int(40);
  for (let s = 0; s < steps; s++) {
    now += g.pick([0, 1, 10, 100, 1000, 50000, 150000]);
    lines.push(`time ${now}`);
    const sid = live.length > 0 ? g.pick(live) : 0;
    const k = g.int(100);
    if (k < 8 && sid > 0) {
      const prog = g.int(2);
      lines.push(`recv ${hex(encodeUpdateFields(sid, updates(prog)))}`);
    } else if (k < 14 && sid > 0) {
      const prog = g.int(2);
      lines.push(`recv ${hex(encodeChangeProg(sid, prog + 1, updates(prog)))}`);
    } else if (k < 17) {
      start();
      for (let i = 1; i <= 3; i++) {
        if (!live.includes(i)) {
          live.push(i);
          break;
        }
      }
    } else if (k < 19 && sid > 0) {
      lines.push(`free ${sid}`);
      live.splice(live.indexOf(sid), 1);
    } else if (k < 21) {
      lines.push(`sendres ${g.pick([0, -1, 1])}`);
    } else if (k < 22) {
      lines.push(`recv ${hex(encodeChangeProg(sid || 1, 99, []))}`); // unknown uid: +8, disarms fallback
    }
    for (const f of live) {
      if (g.chance(0.8)) lines.push(ack(g, f), `regs ${f}`);
    }
  }
  for (const f of live) lines.push(`free ${f}`);
  return { script: lines.join('\n') + '\n', source: gens.map((x) => x.source).join('\n;;\n') };
}

test(
  'BPF datapath logic (userspace build) = TypeScript machine = libccp on random programs and ACKs',
  {
    skip: needsLibccp,
  },
  () => {
    const drivers = buildDrivers();
    const segs = Array.from({ length: PROGRAMS }, (_, i) => segment(1 + i * 7919));
    const script = segs.map((s) => s.script).join('');
    const c = runNative(drivers.driver, script);
    const ref = runNative(drivers.libccp, script);
    const ts = runTs(script);
    // Locate the first difference and name the program that produced it.
    const where = (line: number): string => {
      let ready = -1;
      for (let i = 0; i <= line && i < ref.length; i++) if (ref[i] === 'ready') ready++;
      return `segment ${ready}:\n${segs[ready]?.source ?? '?'}`;
    };
    for (const [name, got] of [
      ['BPF datapath C', c],
      ['TypeScript machine', ts],
    ] as const) {
      const n = Math.max(got.length, ref.length);
      for (let i = 0; i < n; i++) {
        if (got[i] !== ref[i]) {
          assert.fail(
            `${name} differs from libccp at output line ${i}:\n  libccp: ${ref[i]?.slice(0, 300)}\n  ${name}: ${got[i]?.slice(0, 300)}\n${where(i)}`,
          );
        }
      }
    }
    // The comparison covered real work: reports, window updates, program runs.
    const count = (re: RegExp): number => ref.filter((l) => re.test(l)).length;
    assert.ok(count(/^send 0100/) > 200, 'MEASUREs were compared');
    assert.ok(count(/^cwnd /) > 500, 'Cwnd callbacks were compared');
    assert.ok(count(/^invoke \d+ 0$/) > 1000, 'successful invocations were compared');
    assert.ok(count(/^invoke \d+ -9[1-4]$/) > 0, 'arithmetic errors were compared');
    assert.ok(count(/^invoke \d+ -101$/) > 0, 'fallback was compared');
  },
);

test(
  'fallback ends for every flow as soon as the agent sends anything, as in libccp (not sticky)',
  {
    skip: needsLibccp,
  },
  () => {
    const prog = compile(
      `(def (Report (volatile acked 0)))
(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (report)
)`,
      { uid: 1 },
    );
    // bytes_acked … was_timeout (struct order); a plain ACK of one segment, 40 µs RTT
    const ack = (sid: number): string =>
      `ack ${sid} 1448 1 0 0 0 0 0 14480 10 14480 0 40 1000000 1000000 0 0`;
    const script = [
      'time 1000',
      'init 1000 3 10',
      'start 14480 1448',
      'start 14480 1448',
      `recv ${hex(encodeInstall(prog.uid, prog.events, prog.instructions))}`,
      `recv ${hex(encodeChangeProg(1, 1, []))}`,
      `recv ${hex(encodeChangeProg(2, 1, []))}`,
      'time 2000',
      ack(1), // reports: the agent is there
      'sendres -1', // from now on sends fail (ring buffer full / agent gone)
      'time 3000',
      ack(1), // the report fails: fallback timer armed
      'time 5000',
      ack(1), // 2 ms > fto: fallback, for every flow
      ack(2),
      'time 6000',
      ack(2),
      'sendres 0',
      `recv ${hex(encodeUpdateFields(1, [{ regType: 2, regIndex: 4, value: 20000n }]))}`, // the agent answers
      'time 7000',
      ack(1), // both flows run their programs again
      ack(2),
    ].join('\n');
    const drivers = buildDrivers();
    const c = runNative(drivers.driver, script + '\n');
    const ref = runNative(drivers.libccp, script + '\n');
    assert.deepEqual(c, ref, 'the BPF datapath logic and libccp agree');
    assert.deepEqual(runTs(script + '\n'), ref, 'the TypeScript machine and libccp agree');
    const invokes = c.filter((l) => l.startsWith('invoke '));
    assert.deepEqual(invokes, [
      'invoke 1 0',
      'invoke 1 0',
      'invoke 1 -101',
      'invoke 2 -101',
      'invoke 2 -101',
      'invoke 1 0',
      'invoke 2 0',
    ]);
    assert.ok(c.includes('cwnd 1 20000'), "the agent's Cwnd reached flow 1 after the fallback");
    assert.equal(c.filter((l) => /^send 0100/.test(l)).length, 4, 'MEASUREs: before, and after the fallback');
  },
);
