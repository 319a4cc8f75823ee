/**
 * Disassembler: an instruction list and event table in readable form, in the notation of the
 * spec's worked examples (`language.md` §13): `R5.i` volatile report, `R6.i` report, `C0.i`
 * control, `C8.i` volatile control, `L.i` local, `T.i` temp, `P.i` primitive, `I.i` implicit,
 * `#v` immediate.
 * @module
 */
import type { EventRecord, Instruction, Operand } from '../wire/index.ts';
import type { Scope } from './scope.ts';
import { IMPLICITS, PRIMITIVES } from './scope.ts';

const OP_NAMES = [
  'ADD',
  'BIND',
  'DEF',
  'DIV',
  'EQUIV',
  'EWMA',
  'GT',
  'IF',
  'LT',
  'MAX',
  'MAXWRAP',
  'MIN',
  'MUL',
  'NOTIF',
  'SUB',
];

/** Name of an opcode (`ADD`, `BIND`, ...), or `OP<n>` for an unknown one. */
export function opName(op: number): string {
  return OP_NAMES[op] ?? `OP${op}`;
}

/** An operand in spec notation (`R5.1`, `T.0`, `#4294967295`, ...). */
export function formatOperand(o: Operand): string {
  switch (o.type) {
    case 0:
      return `C0.${o.index}`;
    case 1:
      return `#${o.index}`;
    case 2:
      return `I.${o.index}`;
    case 3:
      return `L.${o.index}`;
    case 4:
      return `P.${o.index}`;
    case 5:
      return `R5.${o.index}`;
    case 6:
      return `R6.${o.index}`;
    case 7:
      return `T.${o.index}`;
    case 8:
      return `C8.${o.index}`;
    default:
      return `?${o.type}.${o.index}`;
  }
}

/** One instruction: `ADD T.0 <- R5.1, P.0`; `BIND R5.1 <- T.0`; `DEF R6.2 <- #0`. */
export function formatInstruction(ins: Instruction): string {
  const name = opName(ins.op).padEnd(7);
  const res = formatOperand(ins.result);
  const sameLeft = ins.left.type === ins.result.type && ins.left.index === ins.result.index;
  if ((ins.op === 1 || ins.op === 2) && sameLeft) return `${name} ${res} <- ${formatOperand(ins.right)}`;
  return `${name} ${res} <- ${formatOperand(ins.left)}, ${formatOperand(ins.right)}`;
}

function nameOf(o: Operand, names: Map<string, string>): string | undefined {
  if (o.type === 4) return PRIMITIVES[o.index];
  if (o.type === 2) return IMPLICITS[o.index];
  return names.get(`${o.type}.${o.index}`);
}

/**
 * Print a program: one line per event record, then one line per instruction with its index,
 * grouped as the DEF block and each event's condition and body. With `scope`, a comment names the
 * variables and built-ins each instruction touches.
 */
export function disassemble(p: {
  instructions: readonly Instruction[];
  events: readonly EventRecord[];
  scope?: Scope;
}): string {
  const names = new Map<string, string>();
  if (p.scope !== undefined) {
    for (const v of p.scope.variables) names.set(`${v.regType}.${v.regIndex}`, v.name);
  }
  const lines: string[] = [];
  const labels = new Map<number, string>();
  p.events.forEach((ev, k) => {
    lines.push(
      `; event ${k}: condition ${ev.condStart}..${ev.condStart + ev.condCount - 1} (${ev.condCount}), body ${ev.bodyStart}..${ev.bodyStart + ev.bodyCount - 1} (${ev.bodyCount})`,
    );
    if (!labels.has(ev.condStart)) labels.set(ev.condStart, `event ${k} condition:`);
    if (!labels.has(ev.bodyStart) && ev.bodyCount > 0) labels.set(ev.bodyStart, `event ${k} body:`);
  });
  const firstEvent = p.events.length > 0 ? p.events[0]!.condStart : p.instructions.length;
  if (firstEvent > 0 && !labels.has(0)) labels.set(0, 'defs:');
  const width = String(Math.max(0, p.instructions.length - 1)).length;
  p.instructions.forEach((ins, j) => {
    const label = labels.get(j);
    if (label !== undefined) lines.push(label);
    let line = `  ${String(j).padStart(width)}  ${formatInstruction(ins)}`;
    if (p.scope !== undefined) {
      const seen: string[] = [];
      for (const o of [ins.result, ins.left, ins.right]) {
        const n = nameOf(o, names);
        if (n !== undefined && !seen.includes(n)) seen.push(n);
      }
      if (seen.length > 0) line = `${line.padEnd(36)} ; ${seen.join(', ')}`;
    }
    lines.push(line);
  });
  return lines.join('\n') + '\n';
}
