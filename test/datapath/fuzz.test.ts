// Robustness: random and mutated agent messages never make the machine throw or hang, and every
// result is one of libccp's codes. Random programs that get installed and selected run to
// completion (the rejections of wire-protocol §6.7/§9 keep libccp's infinite loops out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Libccp } from '../../src/datapath/index.ts';
import { EXAMPLE_A, EXAMPLE_B, EXAMPLE_C } from './spec-examples.ts';
import { changeProg, harness, updateFields } from './harness.ts';

const CODES = new Set<number>(Object.values(Libccp));
const SEEDS = [
  EXAMPLE_A,
  EXAMPLE_B,
  EXAMPLE_C,
  updateFields(1, [
    [2, 4, 42],
    [0, 3, 7],
  ]),
  changeProg(1, 2, [[2, 5, 9]]),
];

test('fuzz: 30k random / mutated messages, each followed by an invocation: no exception, no hang, known codes', () => {
  let accepted = 0;
  let rangeRejected = 0;
  let ran = 0;
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.uint8Array({ minLength: 0, maxLength: 120 }),
          fc
            .tuple(fc.constantFrom(...SEEDS), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }))
            .map(([seed, muts]) => {
              const b = Buffer.from(seed);
              for (const [i, v] of muts) b[i % b.length] = v;
              return b;
            }),
        ),
        { minLength: 1, maxLength: 40 },
      ),
      (msgs) => {
        const h = harness({ maxPrograms: 4 });
        h.dp.init();
        const c = h.start();
        h.start();
        // first a (mutated) program and a switch to its uid, so that random programs run
        const list: Uint8Array[] = [...msgs];
        const first = list[0]!;
        if (first.length >= 12 && h.dp.receive(first) <= 0)
          list[0] = changeProg(1, Buffer.from(first).readUInt32LE(8));
        for (const m of list) {
          const code = h.dp.receive(m);
          assert.ok(CODES.has(code), `unexpected code ${code}`);
          if (code === 0) accepted++;
          if (code === Libccp.INSTALL_TOO_MANY_INSTR) rangeRejected++;
          h.t += 7;
          const r = h.ack(c, { bytesAcked: 1448, packetsAcked: 1, rttSampleUs: 20000, sndCwnd: 14480 });
          assert.ok(CODES.has(r), `unexpected invoke result ${r}`);
          if (r === 0) ran++;
        }
      },
    ),
    { seed: 0xf22, numRuns: 1500 },
  );
  assert.ok(accepted > 1000, `accepted ${accepted}`);
  assert.ok(rangeRejected > 20, `installs rejected for a range reaching 256: ${rangeRejected}`);
  assert.ok(ran > 1000, `invocations that ran a program: ${ran}`);
});
