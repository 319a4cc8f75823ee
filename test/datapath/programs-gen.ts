// Random well-typed datapath programs (seeded), shared by the property test and the BPF
// differential test (test/bpf/differential.test.ts).
import { PRIMITIVES } from '../../src/lang/index.ts';

/** Small deterministic PRNG (mulberry32), seeded by fast-check. */
export function prng(seed: number): {
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
} {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
    chance: (p) => next() < p,
  };
}

/** The numeric primitives (all but the boolean `Flow.was_timeout`), in register order. */
export const NUM_PRIMS = PRIMITIVES.filter((p) => p !== 'Flow.was_timeout');

export interface Gen {
  source: string;
  controls: string[];
}

export function genProgram(seed: number): Gen {
  const g = prng(seed);
  const nReports = 1 + g.int(4);
  const nControls = 1 + g.int(4);
  const decls: string[] = [];
  const reports: string[] = [];
  const controls: string[] = [];
  const init = (): string =>
    g.pick(['0', '1', '7', '1000', '+infinity', '1073741823', '2147483647', String(g.int(100000))]);
  // declarations interleaved in random order (report indices follow declaration order)
  const order: Array<'r' | 'c'> = [];
  for (let i = 0; i < nReports; i++) order.push('r');
  for (let i = 0; i < nControls; i++) order.push('c');
  for (let i = order.length - 1; i > 0; i--) {
    const j = g.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const k of order) {
    const vol = g.chance(0.5) ? 'volatile ' : '';
    if (k === 'r') {
      const name = `Report.r${reports.length}`;
      reports.push(name);
      decls.push(`(${vol}${name} ${init()})`);
    } else {
      const name = `c${controls.length}`;
      controls.push(name);
      decls.push(`(${vol}${name} ${init()})`);
    }
  }
  const locals: string[] = [];
  const numLeaf = (): string => {
    const k = g.int(10);
    if (k < 3)
      return g.pick(['0', '1', '2', '3', '10', '1448', '2147483647', '+infinity', String(g.int(1 << 20))]);
    if (k < 5) return g.pick([...reports, ...controls]);
    if (k < 7) return g.pick(NUM_PRIMS);
    if (k < 8 && locals.length > 0) return g.pick(locals);
    return g.pick(['Cwnd', 'Rate', 'Micros']);
  };
  const num = (depth: number): string => {
    if (depth <= 0 || g.chance(0.35)) return numLeaf();
    const op = g.pick(['+', '+', '+', '*', '*', 'max', 'min', 'wrapped_max', '/', '-']);
    return `(${op} ${num(depth - 1)} ${num(depth - 1)})`;
  };
  const cmp = (): string => `(${g.pick(['==', '>', '<'])} ${num(1)} ${num(1)})`;
  const boolOperand = (): string => g.pick([cmp(), cmp(), 'Flow.was_timeout', g.pick(['true', 'false'])]);
  const cond = (): string => {
    const k = g.int(10);
    if (k < 2) return g.pick(['true', 'true', 'false']);
    if (k < 6) return cmp();
    return `(${g.pick(['&&', '||'])} ${boolOperand()} ${boolOperand()})`;
  };
  const mutable = (): string => g.pick([...reports, ...controls]);
  const statement = (): string => {
    const k = g.int(20);
    if (k < 7) return `(:= ${g.pick([...reports, ...controls, ...locals, ...reports])} ${num(2)})`;
    if (k < 9) return `(:= ${g.pick(['Cwnd', 'Cwnd', 'Rate'])} ${num(2)})`;
    if (k < 10) return g.chance(0.7) ? '(:= Micros 0)' : `(:= Micros ${num(1)})`;
    if (k < 12) return `(:= ${mutable()} (${g.pick(['if', '!if'])} ${cmp()} ${num(1)}))`;
    if (k < 14)
      return `(:= ${mutable()} (ewma ${g.pick(['0', '2', '5', '8', '10', '11', String(g.int(12))])} ${num(1)}))`;
    if (k < 17) return '(report)';
    return '(fallthrough)';
  };
  const clauses: string[] = [];
  // clause 0 binds the locals first (a local must be bound before it is read)
  const first: string[] = [];
  const nLocals = g.int(3);
  for (let i = 0; i < nLocals; i++) {
    first.push(`(:= l${i} ${num(2)})`);
    locals.push(`l${i}`);
  }
  for (let i = g.int(3); i >= 0; i--) first.push(statement());
  if (g.chance(0.8)) first.push('(fallthrough)');
  clauses.push(`(when true\n  ${first.join('\n  ')})`);
  for (let k = g.int(4); k > 0; k--) {
    const body: string[] = [];
    for (let i = 1 + g.int(4); i > 0; i--) body.push(statement());
    clauses.push(`(when ${cond()}\n  ${body.join('\n  ')})`);
  }
  return { source: `(def ${decls.join(' ')})\n${clauses.join('\n')}`, controls };
}
