/**
 * Test helpers: write expected instructions in the spec's notation (`language.md` §13):
 * `'ADD T.0 R5.1 P.0'` = op, result, left, right; `R5.i`/`R6.i` report, `C0.i`/`C8.i` control,
 * `L.i` local, `T.i` temp, `P.i` primitive, `I.i` implicit, `#v` immediate.
 */
import assert from 'node:assert/strict';
import { CompileError } from '../../src/errors.ts';
import type { EventRecord, Instruction, Operand } from '../../src/wire/index.ts';
import { Op } from '../../src/wire/index.ts';
import { compile } from '../../src/lang/index.ts';
import type { Program } from '../../src/lang/index.ts';

function operand(s: string): Operand {
  if (s.startsWith('#')) return { type: 1, index: Number(s.slice(1)) };
  const m = /^(R5|R6|C0|C8|L|T|P|I)\.(\d+)$/.exec(s);
  if (m === null) throw new Error(`bad operand ${s}`);
  const type = { R5: 5, R6: 6, C0: 0, C8: 8, L: 3, T: 7, P: 4, I: 2 }[m[1]!]!;
  return { type, index: Number(m[2]) };
}

/** `'OP result left right'` → Instruction. */
export function ins(s: string): Instruction {
  const [op, res, left, right] = s.trim().split(/\s+/);
  const code = (Op as Record<string, number>)[op!];
  if (code === undefined) throw new Error(`bad op ${op}`);
  return { op: code, result: operand(res!), left: operand(left!), right: operand(right!) };
}

/** Event records from `[condStart, condCount, bodyStart, bodyCount]` tuples. */
export function evs(...t: [number, number, number, number][]): EventRecord[] {
  return t.map(([condStart, condCount, bodyStart, bodyCount]) => ({
    condStart,
    condCount,
    bodyStart,
    bodyCount,
  }));
}

/** Compile and compare instructions (and events, if given) exactly. */
export function assertCompiles(src: string, expected: string[], events?: EventRecord[]): Program {
  const p = compile(src);
  assert.deepEqual(p.instructions, expected.map(ins));
  if (events !== undefined) assert.deepEqual(p.events, events);
  return p;
}

/** Assert that `src` fails with a CompileError at `line:column` whose reason matches `reason`. */
export function assertError(src: string, line: number, column: number, reason: RegExp): CompileError {
  let err: unknown;
  try {
    compile(src);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof CompileError, `expected a CompileError, got ${String(err)}`);
  assert.match(err.reason, reason);
  assert.deepEqual([err.line, err.column], [line, column], `position of: ${err.reason}`);
  return err;
}

/** Same instructions and events for two texts. */
export function assertSameOutput(a: string, b: string): void {
  const pa = compile(a);
  const pb = compile(b);
  assert.deepEqual(pa.instructions, pb.instructions);
  assert.deepEqual(pa.events, pb.events);
}

/** Hex of a Buffer, for comparing with the spec's hex dumps. */
export function hex(spaced: string): string {
  return spaced.replace(/\s+/g, '');
}
