/**
 * The classic algorithm style (the original Python bindings' model): one {@link AlgBase} subclass
 * instance per flow, with `this.datapath`, `this.datapathInfo` and `onCreate`/`onReport`/`onClose`.
 * @module
 */
import { ErrorCodes, PortusError } from '../errors.ts';
import type { Algorithm, DatapathHandle, DatapathInfo, Flow, Report } from './types.ts';

const ALG_BASE_MARK = Symbol.for('portus.AlgBase');

interface FlowContext {
  datapath: DatapathHandle;
  info: DatapathInfo;
  params: Readonly<Record<string, string>>;
}

let pendingContext: FlowContext | null = null;

/**
 * Base class of a classic-style algorithm. The agent creates one instance per flow; `datapath`,
 * `datapathInfo` and `params` are already set in the constructor (and field initialisers).
 *
 * ```ts
 * class MyAlg extends AlgBase {
 *   onCreate() { this.datapath.install(`(def (Report (volatile acked 0))) ...`, { Cwnd: 10 * this.datapathInfo.mss }); }
 *   onReport(r: Report) { this.datapath.updateField('Cwnd', r.acked * 2); }
 * }
 * ```
 * Optional statics: `algName` (matched against the datapath's requested algorithm; default: the
 * class name) and `programs` (named programs compiled at start-up, for `datapath.setProgram`).
 */
export class AlgBase {
  /** Name matched against CREATE's congestion-algorithm field (default: the class name). */
  static algName?: string;
  /** Named datapath programs compiled and installed at start-up (optional). */
  static programs?: Record<string, string>;
  static readonly [ALG_BASE_MARK] = true;

  /** Control of this flow in the datapath. */
  readonly datapath: DatapathHandle;
  /** What the datapath told us about the flow (CREATE). */
  readonly datapathInfo: DatapathInfo;
  /** `--param k=v` values given to the agent. */
  readonly params: Readonly<Record<string, string>>;

  constructor() {
    const ctx = pendingContext;
    if (ctx === null) {
      throw new PortusError(
        ErrorCodes.ALGORITHM,
        'AlgBase subclasses are instantiated by the agent (connect/startAgent), not with new',
      );
    }
    this.datapath = ctx.datapath;
    this.datapathInfo = ctx.info;
    this.params = ctx.params;
  }

  /** Called once after construction: install or select a program here. */
  onCreate(): void {}
  /** Called for every report of this flow. */
  onReport(_r: Report): void {}
  /** Called once when the flow closes. */
  onClose(): void {}
}

/** A classic algorithm class (a subclass of {@link AlgBase} with a no-argument constructor). */
export type AlgClass = (new () => AlgBase) & { algName?: string; programs?: Record<string, string> };

/** True if `x` is a subclass of {@link AlgBase} (also across duplicate module instances). */
export function isAlgClass(x: unknown): x is AlgClass {
  if (typeof x !== 'function') return false;
  if (x.prototype instanceof AlgBase) return true;
  return (x as unknown as Record<symbol, unknown>)[ALG_BASE_MARK] === true && x !== AlgBase;
}

/** Wrap a classic class as a portus-style {@link Algorithm}. */
export function classicAlgorithm(cls: AlgClass, params: Readonly<Record<string, string>> = {}): Algorithm {
  const programs = cls.programs ?? {};
  return {
    name: cls.algName ?? cls.name,
    datapathPrograms: () => ({ ...programs }),
    newFlow(datapath: DatapathHandle, info: DatapathInfo): Flow {
      pendingContext = { datapath, info, params };
      let inst: AlgBase;
      try {
        inst = new cls();
      } finally {
        pendingContext = null;
      }
      inst.onCreate();
      return {
        onReport: (r: Report) => inst.onReport(r),
        close: () => inst.onClose(),
      };
    },
  };
}
