/**
 * Compiles a program's double-mode fast path to a specialised JavaScript function: the event loop
 * of `datapath-machine.md` §4.2 unrolled, every operand a constant register-file offset. The code
 * is built only from numbers (offsets, opcodes, indices), never from message text.
 *
 * Semantics are those of `runFast` in instructions.ts (the interpreter, which remains the reference
 * and the fallback): returns 0 (all events done or stopped), a libccp error (the invocation is
 * aborted), or 1 = DEOPT with the resume point in {@link Deopt} (an intermediate result reached
 * 2^53: continue in BigInt mode from that instruction).
 * @module
 */
import { IMPL, MICROS_DST, STRIDE, type Program } from './program.ts';

/** Where a compiled program stopped with DEOPT: event, phase (0 condition, 1 body), instruction. */
export interface Deopt {
  e: number;
  p: number;
  pc: number;
}

/** A compiled fast path: `(registers, connection, now) => 0 | error | 1 (DEOPT)`. */
export type CompiledProgram = (r: Float64Array, c: unknown, now: () => number) => number;

/** Programs with more emitted instructions than this run in the interpreter instead. */
const MAX_EMITTED = 2048;

const TWO53 = '9007199254740992';
const FLAG = IMPL;
const FALL = IMPL + 1;

function emit(code: Int32Array, pc: number, e: number, phase: number): string {
  const k = pc * STRIDE;
  const op = code[k]!;
  const d = code[k + 1]!;
  const A = `r[${code[k + 2]!}]`;
  const B = `r[${code[k + 3]!}]`;
  const deopt = `{ D.e = ${e}; D.p = ${phase}; D.pc = ${pc}; return 1; }`;
  const write = d === MICROS_DST ? 'M(c, v, now);' : `r[${d}] = v;`;
  switch (op) {
    case 0:
      return `v = ${A} + ${B}; if (v >= ${TWO53}) ${deopt} ${write}`;
    case 1:
      return `v = ${B}; ${write}`;
    case 2:
      return '';
    case 3:
      return `x = ${A}; y = ${B}; if (y === 0) return -92; v = (x - (x % y)) / y; ${write}`;
    case 4:
      return `v = ${A} === ${B} ? 1 : 0; ${write}`;
    case 5:
      return (
        `x = ${A}; y = ${B}; z = r[${code[k + 4]!}]; if (z === 0) v = y; else { if (x > 10) ${deopt} ` +
        `v = x * z + (10 - x) * y; if (v >= ${TWO53}) ${deopt} v = (v - (v % 10)) / 10; } ${write}`
      );
    case 6:
      return `v = ${A} > ${B} ? 1 : 0; ${write}`;
    case 7:
      return `if (${A} !== 0) { v = ${B}; ${write} }`;
    case 8:
      return `v = ${A} < ${B} ? 1 : 0; ${write}`;
    case 9:
      return `x = ${A}; y = ${B}; v = x > y ? x : y; ${write}`;
    case 10:
      return `v = W(${A}, ${B}); ${write}`;
    case 11:
      return `x = ${A}; y = ${B}; v = x < y ? x : y; ${write}`;
    case 12:
      return `v = ${A} * ${B}; if (v >= ${TWO53}) ${deopt} ${write}`;
    case 13:
      return `if (${A} === 0) { v = ${B}; ${write} }`;
    default:
      return `x = ${A}; y = ${B}; if (y > x) return -94; v = x - y; ${write}`;
  }
}

/**
 * Compile `p`'s fast path, or return null when it is too large (the interpreter runs it).
 * `maxwrap` is MAXWRAP on doubles, `micros` performs a write to the Micros register.
 */
export function compileProgram(
  p: Program,
  deopt: Deopt,
  maxwrap: (a: number, b: number) => number,
  micros: (c: never, v: number, now: () => number) => void,
): CompiledProgram | null {
  const ev = p.events;
  let emitted = 0;
  for (let e = 0; e < p.numExpressions; e++) {
    emitted += Math.max(0, ev[e * 4 + 1]! - ev[e * 4]!) + Math.max(0, ev[e * 4 + 3]! - ev[e * 4 + 2]!);
  }
  if (emitted > MAX_EMITTED) return null;
  const lines: string[] = ['let v = 0, x = 0, y = 0, z = 0;'];
  for (let e = 0; e < p.numExpressions; e++) {
    const q = e * 4;
    for (let pc = ev[q]!; pc < ev[q + 1]!; pc++) lines.push(emit(p.code, pc, e, 0));
    const body: string[] = [];
    for (let pc = ev[q + 2]!; pc < ev[q + 3]!; pc++) body.push(emit(p.code, pc, e, 1));
    if (body.length > 0) lines.push(`if (r[${FLAG}] !== 0) {`, ...body, '}');
    lines.push(`if (r[${FLAG}] !== 0 && r[${FALL}] === 0) return 0;`);
  }
  lines.push('return 0;');
  const src = `return function program(r, c, now) {\n${lines.join('\n')}\n};`;
  let factory = FACTORIES.get(src);
  if (factory === undefined) {
    // The source is generated from numbers only (offsets, opcodes, instruction indices).
    factory = new Function('D', 'W', 'M', src) as Factory;
    if (FACTORIES.size >= MAX_FACTORIES) FACTORIES.delete(FACTORIES.keys().next().value!);
    FACTORIES.set(src, factory);
  }
  return factory(deopt, maxwrap, micros);
}

type Factory = (
  d: Deopt,
  w: (a: number, b: number) => number,
  m: (c: never, v: number, now: () => number) => void,
) => CompiledProgram;

/**
 * Factories by source: the same program installed again (another flow, another simulation in the
 * same thread) gets its function from the same factory, so V8 reuses the optimised code instead of
 * compiling it anew for every installation. Oldest dropped first beyond MAX_FACTORIES.
 */
const FACTORIES = new Map<string, Factory>();
const MAX_FACTORIES = 256;
