import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventQueue } from '../../src/sim/index.ts';

test('pops events in (time, insertion) order, growing past the initial capacity', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 255 })), {
        maxLength: 300,
      }),
      (evs) => {
        const q = new EventQueue(16);
        evs.forEach(([t, k], i) => q.push(t, k, i));
        const expected = evs.map(([t, k], i) => ({ t, k, i })).sort((a, b) => a.t - b.t || a.i - b.i);
        for (const e of expected) {
          assert.equal(q.pop(), e.k);
          assert.equal(q.time, e.t);
          assert.equal(q.arg, e.i);
        }
        assert.equal(q.pop(), -1);
        assert.equal(q.size, 0);
      },
    ),
    { seed: 42, numRuns: 200 },
  );
});

test('interleaved push/pop keeps the order and peekTime tracks the minimum', () => {
  const q = new EventQueue(4);
  q.push(10, 1, 0);
  q.push(5, 2, 1);
  assert.equal(q.peekTime(), 5);
  assert.equal(q.pop(), 2);
  q.push(7, 3, 2);
  q.push(7, 4, 3);
  assert.equal(q.pop(), 3);
  assert.equal(q.pop(), 4);
  assert.equal(q.pop(), 1);
  assert.equal(q.peekTime(), Infinity);
});
