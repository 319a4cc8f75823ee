// Property test: for random well-typed programs and random primitive sequences, the datapath
// machine (running the compiler's instructions) agrees with a straightforward evaluator of the
// program's AST written here (BigInt, libccp's u64 semantics: datapath-machine.md §4–§6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compile, parse, type Expr, type ProgramAst } from '../../src/lang/index.ts';
import { encodeChangeProg, encodeInstall, encodeUpdateFields } from '../../src/wire/index.ts';
import { createDatapath, zeroPrimitives, type Primitives } from '../../src/datapath/index.ts';
import { CompileError } from '../../src/errors.ts';
import { genProgram, prng } from './programs-gen.ts';

const M = (1n << 64n) - 1n;
const U32 = 0xffffffffn;

// ------------------------------------------------------------------ the reference evaluator

class Abort extends Error {
  constructor(readonly code: number) {
    super(`abort ${code}`);
  }
}

const imm = (v: bigint): bigint => v & U32; // immediates are u32 on the wire

function maxwrap(a: bigint, b: bigint): bigint {
  if (a === 0n) return b;
  if (b === 0n) return a;
  const x = a & U32;
  const y = b & U32;
  const dist = (from: bigint, to: bigint): bigint => (to > from ? to - from : U32 - from + to);
  return dist(y, x) < dist(x, y) ? x : y;
}

interface Outcome {
  code: number;
  cwnd: number[];
  rate: number[];
  reports: bigint[][];
}

/** Evaluates one flow running one program, from the AST. */
class Reference {
  readonly vars = new Map<string, bigint>();
  readonly reports: string[] = [];
  readonly defaults = new Map<string, bigint>();
  readonly volatile = new Set<string>();
  cwnd = 0n;
  rate = 0n;
  microsBase = 0; // now() when Micros was last set
  microsAt = 0n; // value Micros had then
  micros = 0n;
  staged: Map<string, bigint> | null = null;
  switched = false;
  prims: Primitives = zeroPrimitives();
  now = 0;
  timeZero = 0;

  constructor(readonly ast: ProgramAst) {
    for (const d of ast.declarations) {
      let v = d.init.kind === 'bool' ? (d.init.value ? 1n : 0n) : imm(d.init.value);
      if (v === 0x3fffffffn) v = 0xffffffffn;
      this.defaults.set(d.name, v);
      if (d.volatile) this.volatile.add(d.name);
      if (d.isReport) this.reports.push(d.name);
    }
  }

  read(name: string): bigint {
    const p = this.prims;
    switch (name) {
      case 'Ack.bytes_acked':
        return BigInt(p.bytesAcked >>> 0);
      case 'Ack.bytes_misordered':
        return BigInt(p.bytesMisordered >>> 0);
      case 'Ack.ecn_bytes':
        return BigInt(p.ecnBytes >>> 0);
      case 'Ack.ecn_packets':
        return BigInt(p.ecnPackets >>> 0);
      case 'Ack.lost_pkts_sample':
        return BigInt(p.lostPktsSample >>> 0);
      case 'Ack.now':
        return BigInt(this.now - this.timeZero);
      case 'Ack.packets_acked':
        return BigInt(p.packetsAcked >>> 0);
      case 'Ack.packets_misordered':
        return BigInt(p.packetsMisordered >>> 0);
      case 'Flow.bytes_in_flight':
        return BigInt(p.bytesInFlight >>> 0);
      case 'Flow.bytes_pending':
        return BigInt(p.bytesPending >>> 0);
      case 'Flow.packets_in_flight':
        return BigInt(p.packetsInFlight >>> 0);
      case 'Flow.rate_incoming':
        return BigInt(p.rateIncoming) & M;
      case 'Flow.rate_outgoing':
        return BigInt(p.rateOutgoing) & M;
      case 'Flow.rtt_sample_us':
        return p.rttSampleUs === 0 ? 0xffffffffn : BigInt(p.rttSampleUs) & M;
      case 'Flow.was_timeout':
        return p.wasTimeout ? 1n : 0n;
      case 'Cwnd':
        return this.cwnd;
      case 'Rate':
        return this.rate;
      case 'Micros':
        return this.micros;
      default:
        return this.vars.get(name) ?? 0n; // locals start at 0
    }
  }

  write(name: string, v: bigint): void {
    if (name === 'Cwnd') this.cwnd = v;
    else if (name === 'Rate') this.rate = v;
    else if (name === 'Micros') {
      this.micros = v;
      this.microsBase = this.now;
      this.microsAt = v;
    } else this.vars.set(name, v);
  }

  value(e: Expr): bigint {
    switch (e.kind) {
      case 'number':
        return imm(e.value);
      case 'bool':
        return e.value ? 1n : 0n;
      case 'name':
        return this.read(e.name);
      case 'command':
        throw new Error('command as operand');
      case 'op': {
        const a = this.value(e.left);
        const b = this.value(e.right);
        switch (e.op) {
          case '+':
          case '||': {
            const s = (a + b) & M;
            if (s < a) throw new Abort(-91);
            return s;
          }
          case '-':
            if (b > a) throw new Abort(-94);
            return a - b;
          case '*':
          case '&&': {
            const p = (a * b) & M;
            if (p < a && b > 0n) throw new Abort(-93);
            return p;
          }
          case '/':
            if (b === 0n) throw new Abort(-92);
            return a / b;
          case 'max':
            return a > b ? a : b;
          case 'min':
            return a < b ? a : b;
          case 'wrapped_max':
            return maxwrap(a, b);
          case '==':
            return a === b ? 1n : 0n;
          case '>':
            return a > b ? 1n : 0n;
          case '<':
            return a < b ? 1n : 0n;
          default:
            throw new Error(`unexpected operator ${e.op}`);
        }
      }
    }
  }

  statement(e: Expr, flags: { report: boolean; fall: boolean }): void {
    if (e.kind === 'command') {
      if (e.command === 'report') flags.report = true;
      else flags.fall = true;
      return;
    }
    if (e.kind !== 'op' || e.op !== ':=') throw new Error('generator emits binds and commands only');
    if (e.left.kind !== 'name') throw new Error('bind target');
    const target = e.left.name;
    const rhs = e.right;
    if (rhs.kind === 'op' && (rhs.op === 'if' || rhs.op === '!if' || rhs.op === 'ewma')) {
      const a = this.value(rhs.left);
      const b = this.value(rhs.right);
      if (rhs.op === 'if') {
        if (a !== 0n) this.write(target, b);
      } else if (rhs.op === '!if') {
        if (a === 0n) this.write(target, b);
      } else {
        const t = this.read(target);
        this.write(target, t === 0n ? b : ((((a * t) & M) + ((((10n - a) & M) * b) & M)) & M) / 10n);
      }
      return;
    }
    this.write(target, this.value(rhs));
  }

  resetVolatile(): void {
    for (const [name, v] of this.defaults) if (this.volatile.has(name)) this.vars.set(name, v);
  }

  invoke(now: number, prims: Primitives): Outcome {
    this.now = now;
    this.prims = { ...prims };
    const out: Outcome = { code: 0, cwnd: [], rate: [], reports: [] };
    this.cwnd = BigInt(prims.sndCwnd >>> 0);
    this.rate = BigInt(prims.sndRate) & M;
    if (this.switched) {
      for (const [name, v] of this.defaults) this.vars.set(name, v);
      this.microsBase = now;
      this.microsAt = 0n;
      this.switched = false;
    }
    if (this.staged) {
      for (const [name, v] of this.staged) {
        if (name === 'Cwnd') {
          this.cwnd = v;
          if (v !== 0n) out.cwnd.push(Number(v & U32));
        } else if (name === 'Rate') {
          this.rate = v;
          if (v !== 0n) out.rate.push(Number(v & U32));
        } else this.vars.set(name, v);
      }
      this.staged = null;
    }
    this.micros = (BigInt(now - this.microsBase) + this.microsAt) & M;
    const flags = { report: false, fall: false };
    try {
      for (const clause of this.ast.clauses) {
        const flag = this.value(clause.cond) !== 0n;
        if (flag) for (const s of clause.body) this.statement(s, flags);
        if (flag && !flags.fall) break;
      }
    } catch (e) {
      if (e instanceof Abort) {
        out.code = e.code;
        return out;
      }
      throw e;
    }
    if (this.cwnd > 0n) out.cwnd.push(Number(this.cwnd & U32));
    if (this.rate !== 0n) out.rate.push(Number(this.rate & U32));
    if (flags.report) {
      out.reports.push(this.reports.map((n) => this.vars.get(n) ?? 0n));
      this.resetVolatile();
    }
    return out;
  }
}

// ------------------------------------------------------------------ the property

const u64Arb = (g: ReturnType<typeof prng>): bigint =>
  g.pick([
    0n,
    1n,
    BigInt(g.int(100000)),
    BigInt(g.int(2 ** 31)),
    (1n << 53n) - BigInt(g.int(3)),
    (1n << 53n) + BigInt(g.int(3)),
    M - BigInt(g.int(3)),
    (BigInt(g.int(2 ** 30)) << 32n) | BigInt(g.int(2 ** 30)),
    1n << BigInt(32 + g.int(32)),
  ]);

for (const engine of ['compiled', 'interpreted'] as const)
  test(`property (${engine} engine): the machine agrees with an AST evaluator on random programs and primitives (seeded)`, () => {
    let compiled = 0;
    let rejected = 0;
    let invocations = 0;
    let errors = 0;
    let reportsSeen = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), (seed) => {
        const gen = genProgram(seed);
        let prog: ReturnType<typeof compile>;
        try {
          prog = compile(gen.source, { uid: 1 });
        } catch (e) {
          if (e instanceof CompileError) {
            rejected++;
            return; // e.g. more than 8 temps in one statement
          }
          throw e;
        }
        compiled++;
        const ast = parse(gen.source);
        const ref = new Reference(ast);
        const g = prng(seed ^ 0x5bd1e995);
        let now = 1000 + g.int(1000);
        const got: Outcome = { code: 0, cwnd: [], rate: [], reports: [] };
        const dp = createDatapath({
          engine,
          now: () => now,
          send: (m) => {
            if (m.readUInt16LE(0) === 1 && m.readUInt32LE(8) !== 0) {
              const n = m.readUInt32LE(12);
              got.reports.push(Array.from({ length: n }, (_, i) => m.readBigUInt64LE(16 + 8 * i)));
            }
            return 0;
          },
          setCwnd: (_c, v) => got.cwnd.push(v),
          setRate: (_c, v) => got.rate.push(v),
        });
        dp.init();
        ref.timeZero = now;
        assert.equal(dp.receive(encodeInstall(1, prog.events, prog.instructions)), 0);
        const conn = dp.startConnection({
          initCwnd: 14480,
          mss: 1448,
          srcIp: 0,
          srcPort: 0,
          dstIp: 0,
          dstPort: 0,
          congAlg: '',
        })!;
        // initial control values carried by CHANGE_PROG
        const init: Array<{ regType: number; regIndex: number; value: bigint }> = [];
        ref.switched = true;
        ref.staged = new Map();
        for (const name of gen.controls) {
          if (g.chance(0.4)) {
            const v = u64Arb(g);
            const t = prog.scope.resolveUpdate(name);
            init.push({ regType: t.regType, regIndex: t.regIndex, value: v });
            ref.staged.set(name, v);
          }
        }
        assert.equal(dp.receive(encodeChangeProg(conn.sid, 1, init)), 0);
        const steps = 5 + g.int(25);
        for (let s = 0; s < steps; s++) {
          now += g.pick([0, 1, 10, 100, 1000, 50000]);
          if (g.chance(0.15)) {
            const ups: Array<{ regType: number; regIndex: number; value: bigint }> = [];
            const staged: Map<string, bigint> = ref.staged ?? new Map<string, bigint>();
            for (const name of [...gen.controls, 'Cwnd', 'Rate']) {
              if (g.chance(0.4)) {
                const v = name === 'Cwnd' || name === 'Rate' ? BigInt(g.int(2 ** 31)) : u64Arb(g);
                const t = prog.scope.resolveUpdate(name);
                ups.push({ regType: t.regType, regIndex: t.regIndex, value: v });
                staged.delete(name); // last write wins, applied in register order below
                staged.set(name, v);
              }
            }
            // the machine applies controls in index order, then Cwnd, then Rate
            ref.staged = new Map([...staged].sort(([a], [b]) => rank(a) - rank(b) || 0));
            assert.equal(dp.receive(encodeUpdateFields(conn.sid, ups)), 0);
          }
          const p = conn.prims;
          p.bytesAcked = g.pick([0, 1448, g.int(2 ** 32)]);
          p.packetsAcked = g.int(3);
          p.bytesMisordered = g.pick([0, 1448]);
          p.packetsMisordered = g.int(2);
          p.ecnBytes = g.pick([0, 1448]);
          p.ecnPackets = g.int(2);
          p.lostPktsSample = g.pick([0, 0, 1]);
          p.bytesInFlight = g.int(2 ** 20);
          p.packetsInFlight = g.int(100);
          p.bytesPending = g.int(2 ** 20);
          p.sndCwnd = g.pick([0, 1448, 14480, g.int(2 ** 32)]);
          p.sndRate = g.pick([0, 0, 125000, g.int(2 ** 40), 2 ** 60]);
          p.rttSampleUs = g.pick([0, 1, 100, 6000, g.int(2 ** 33), 2 ** 62]);
          p.rateIncoming = g.pick([0, g.int(2 ** 40), 2 ** 54]);
          p.rateOutgoing = g.pick([0, g.int(2 ** 40)]);
          p.wasTimeout = g.chance(0.1);
          got.cwnd = [];
          got.rate = [];
          got.reports = [];
          const code = dp.invoke(conn);
          const want = ref.invoke(now, p);
          invocations++;
          if (code !== 0) errors++;
          reportsSeen += got.reports.length;
          assert.deepEqual(
            { code, cwnd: got.cwnd, rate: got.rate, reports: got.reports },
            want,
            `seed ${seed} step ${s}\n${gen.source}`,
          );
          // register state agrees too
          const regs = dp.registers(conn);
          for (const name of ref.reports) {
            assert.equal(
              regs.report[prog.scope.reportIndex(name)],
              ref.vars.get(name) ?? 0n,
              `${name} (seed ${seed})`,
            );
          }
          for (const name of gen.controls) {
            const t = prog.scope.resolveUpdate(name);
            assert.equal(regs.control[t.regIndex], ref.vars.get(name) ?? 0n, `${name} (seed ${seed})`);
          }
        }
        function rank(name: string): number {
          if (name === 'Cwnd') return 1000;
          if (name === 'Rate') return 1001;
          return prog!.scope.resolveUpdate(name).regIndex;
        }
      }),
      { seed: 0x5eed, numRuns: 400 },
    );
    // the generator must exercise the interesting paths
    assert.ok(compiled > 300, `compiled ${compiled}, rejected ${rejected}`);
    assert.ok(errors > 50, `arithmetic errors seen: ${errors}`);
    assert.ok(reportsSeen > 200, `reports seen: ${reportsSeen}`);
    assert.ok(invocations > 4000);
  });
