/**
 * The agent's program table: every datapath program of every registered algorithm compiled at
 * start-up (uids 1..N in registration order), plus programs `install`ed at run time, by uid.
 * @module
 */
import { CompileError, ErrorCodes, PortusError } from '../errors.ts';
import { compile, type Program, type Scope } from '../lang/index.ts';
import { encodeInstall } from '../wire/index.ts';
import { classicAlgorithm, isAlgClass, type AlgClass } from './classic.ts';
import type { Logger } from './log.ts';
import { rttFieldIndex } from './observe.ts';
import { makeReportClass, type ReportClass } from './report.ts';
import type { Algorithm } from './types.ts';

/** Start-up failed because some datapath programs do not compile; `errors` lists every one. */
export class ProgramsError extends PortusError {
  readonly errors: ReadonlyArray<{ algorithm: string; program: string; error: CompileError }>;
  constructor(errors: ReadonlyArray<{ algorithm: string; program: string; error: CompileError }>) {
    super(
      ErrorCodes.COMPILE,
      `${errors.length} datapath program(s) do not compile:\n` +
        errors.map((e) => e.error.format(`${e.algorithm}/${e.program}`)).join('\n'),
    );
    this.name = 'ProgramsError';
    this.errors = errors;
  }
}

/** Description of a program known to the agent. */
export interface ProgramInfo {
  uid: number;
  name: string;
  /** The algorithm that declared it ('' for programs `install`ed at run time). */
  algorithm: string;
}

/** One compiled program with everything the runtime needs to install it and read its reports. */
export interface ProgramEntry {
  uid: number;
  name: string;
  algorithm: string;
  program: Program;
  scope: Scope;
  /** The INSTALL_EXPR message. */
  install: Buffer;
  reportClass: ReportClass;
  /** MEASURE index of the report field carrying an RTT sample, -1 if none (for observers). */
  rttField: number;
  /** name → resolved update target, filled on first use. */
  targets: Map<string, { regType: number; regIndex: number }>;
}

/** A registered algorithm and its named programs. */
export interface AlgEntry {
  alg: Algorithm;
  programs: Map<string, ProgramEntry>;
}

/** What {@link ProgramTable} is built from. */
export interface ProgramTableOptions {
  algorithms: ReadonlyArray<Algorithm | AlgClass>;
  defaultAlgorithm?: string | undefined;
  params: Readonly<Record<string, string>>;
  maxPrograms: number;
  log: Logger;
}

function makeEntry(uid: number, name: string, algorithm: string, program: Program): ProgramEntry {
  return {
    uid,
    name,
    algorithm,
    program,
    scope: program.scope,
    install: encodeInstall(uid, program.events, program.instructions),
    reportClass: makeReportClass(program.scope),
    rttField: rttFieldIndex(program.scope.reportFields),
    targets: new Map(),
  };
}

/** Programs by uid, algorithms by name. */
export class ProgramTable {
  /** Programs indexed by uid (index 0 unused; `undefined` only while start-up fails). */
  private readonly byUid: (ProgramEntry | undefined)[] = [undefined];
  private readonly dynamicBySource = new Map<string, ProgramEntry>();
  private readonly byName = new Map<string, AlgEntry>();
  private readonly log: Logger;
  /** The algorithm for flows whose CREATE names none of the registered ones. */
  readonly defaultAlg: AlgEntry;
  /** Programs declared by the algorithms (uids 1..startupCount). */
  readonly startupCount: number;

  /**
   * Compile every program of every algorithm. Throws {@link ProgramsError} listing every compile
   * error, or `PROGRAM_TABLE_FULL` if they exceed `maxPrograms`.
   */
  constructor(opts: ProgramTableOptions) {
    this.log = opts.log;
    if (opts.algorithms.length === 0) throw new PortusError(ErrorCodes.ALGORITHM, 'no algorithm given');
    const algs: AlgEntry[] = [];
    const compileErrors: { algorithm: string; program: string; error: CompileError }[] = [];
    for (const a of opts.algorithms) {
      const alg: Algorithm = isAlgClass(a) ? classicAlgorithm(a, opts.params) : a;
      if (typeof alg?.newFlow !== 'function' || typeof alg.datapathPrograms !== 'function') {
        throw new PortusError(ErrorCodes.ALGORITHM, `not an algorithm: ${String(alg?.name ?? alg)}`);
      }
      if (this.byName.has(alg.name)) {
        throw new PortusError(ErrorCodes.ALGORITHM, `two algorithms are named '${alg.name}'`);
      }
      const entry: AlgEntry = { alg, programs: new Map() };
      algs.push(entry);
      this.byName.set(alg.name, entry);
      for (const [pname, source] of Object.entries(alg.datapathPrograms())) {
        const uid = this.byUid.length;
        try {
          const p = compile(source, { uid });
          const pe = makeEntry(uid, pname, alg.name, p);
          this.byUid.push(pe);
          entry.programs.set(pname, pe);
          for (const w of p.warnings) this.log.warn(`${alg.name}/${pname}: ${w}`);
        } catch (e) {
          if (e instanceof CompileError) {
            compileErrors.push({ algorithm: alg.name, program: pname, error: e });
            this.byUid.push(undefined); // keep later uids as they would be; start-up fails anyway
          } else throw e;
        }
      }
    }
    if (compileErrors.length > 0) throw new ProgramsError(compileErrors);
    this.startupCount = this.byUid.length - 1;
    if (this.startupCount > opts.maxPrograms) {
      throw new PortusError(
        ErrorCodes.PROGRAM_TABLE_FULL,
        `the algorithms declare ${this.startupCount} programs but a datapath holds at most ${opts.maxPrograms} ` +
          `(ccp-kernel: 9); drop some programs or raise maxPrograms for datapaths with bigger tables`,
      );
    }
    let defaultAlg = algs[0];
    if (opts.defaultAlgorithm !== undefined) {
      const d = this.byName.get(opts.defaultAlgorithm);
      if (!d) {
        throw new PortusError(
          ErrorCodes.ALGORITHM,
          `default algorithm '${opts.defaultAlgorithm}' is not registered (have: ${[...this.byName.keys()].join(', ')})`,
        );
      }
      defaultAlg = d;
    }
    this.defaultAlg = defaultAlg;
  }

  /** Uids in use are 1..size-1. */
  get size(): number {
    return this.byUid.length;
  }

  /** The program with this uid, if any. */
  get(uid: number): ProgramEntry | undefined {
    return uid < this.byUid.length ? this.byUid[uid] : undefined;
  }

  /** The algorithm a CREATE names, or the default one. */
  algorithmFor(congAlg: string): AlgEntry {
    return this.byName.get(congAlg) ?? this.defaultAlg;
  }

  /**
   * The program for a run-time `install(source)`: compiled once per distinct source and given the
   * next uid. Throws CompileError with line/column.
   */
  installed(source: string, sid: number): ProgramEntry {
    let prog = this.dynamicBySource.get(source);
    if (prog === undefined) {
      const uid = this.byUid.length;
      const p = compile(source, { uid });
      prog = makeEntry(uid, `installed#${uid}`, '', p);
      this.byUid.push(prog);
      this.dynamicBySource.set(source, prog);
      for (const w of p.warnings) this.log.warn(`flow ${sid}: ${prog.name}: ${w}`);
    }
    return prog;
  }

  /** Programs known to the agent, by ascending uid. */
  list(): ProgramInfo[] {
    const list: ProgramInfo[] = [];
    for (const p of this.byUid) if (p) list.push({ uid: p.uid, name: p.name, algorithm: p.algorithm });
    return list;
  }
}
