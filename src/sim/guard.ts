/**
 * Algorithm failures surfaced, not hidden: every algorithm handed to the simulator's agent is
 * wrapped so that an exception from `newFlow`, `onReport` or `close` (including a `CompileError`
 * from a classic `install()`) is recorded with the flow, the simulated time and the place in the
 * user's code. The agent still sees the exception (and handles it as it always does); the run
 * decides whether to stop (the default) or keep going and count.
 * @module
 */
import type { Algorithm, DatapathHandle, DatapathInfo, Flow, Report } from '../agent/index.ts';
import { CompileError, ErrorCodes, PortusError } from '../errors.ts';
import { simFlowIndex } from './addresses.ts';

/** One exception thrown by algorithm code during a run. */
export interface AlgorithmFailure {
  /** Flow index in the scenario. */
  flow: number;
  /** Algorithm name. */
  alg: string;
  /** Simulated time, µs. */
  timeUs: number;
  /** Which callback threw. */
  where: 'newFlow' | 'onReport' | 'close';
  /** What was thrown. */
  error: unknown;
  /** `file:line:column` of the innermost frame outside Portus itself, if the stack names one. */
  location: string | null;
}

/**
 * The innermost stack frame that is not Portus's own agent/datapath/simulator code or Node's:
 * the line of the user's algorithm that threw (or that called `install()`).
 */
export function userLocation(e: unknown): string | null {
  const stack = e instanceof Error && typeof e.stack === 'string' ? e.stack : '';
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^\s()]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    const file = m[1]!.replace(/^file:\/\//, '');
    if (file.startsWith('node:') || file.includes('/node_modules/')) continue;
    if (/\/src\/(agent|sim|datapath|lang|wire|ipc)\//.test(file)) continue;
    return `${file}:${m[2]}:${m[3]}`;
  }
  return null;
}

/** A one-line description of a failure: flow, time, algorithm, callback, error, location. */
export function describeFailure(f: AlgorithmFailure): string {
  const e = f.error;
  let what: string;
  if (e instanceof CompileError) what = `datapath program does not compile: ${e.message}`;
  else if (e instanceof Error) what = `${e.name}: ${e.message}`;
  else what = `threw ${String(e)}`;
  const at = f.location !== null ? ` (${f.location})` : '';
  return `flow ${f.flow} (${f.alg}) at ${(f.timeUs / 1e6).toFixed(3)} s: ${f.where} failed: ${what}${at}`;
}

/** The error a run fails with: the first algorithm failure. */
export class AlgorithmFailedError extends PortusError {
  readonly failure: AlgorithmFailure;
  constructor(failure: AlgorithmFailure) {
    super(
      ErrorCodes.ALGORITHM,
      `${describeFailure(failure)}\n(the run stopped here; --keep-going continues and counts errors per flow)`,
      { cause: failure.error },
    );
    this.name = 'AlgorithmFailedError';
    this.failure = failure;
  }
}

/** Wrap `alg` so its exceptions are passed to `record` (and rethrown to the agent). */
export function guardAlgorithm(
  alg: Algorithm,
  now: () => number,
  record: (f: AlgorithmFailure) => void,
): Algorithm {
  function fail(info: DatapathInfo, where: AlgorithmFailure['where'], e: unknown): never {
    record({
      flow: simFlowIndex(info.srcPort),
      alg: alg.name,
      timeUs: now(),
      where,
      error: e,
      location: userLocation(e),
    });
    throw e;
  }
  return {
    name: alg.name,
    datapathPrograms: () => alg.datapathPrograms(),
    newFlow(dp: DatapathHandle, info: DatapathInfo): Flow {
      let created: Flow | undefined;
      try {
        created = alg.newFlow(dp, info);
      } catch (e) {
        fail(info, 'newFlow', e);
      }
      const inner = created;
      const flow: Flow = {
        onReport(r: Report): void {
          try {
            inner.onReport(r);
          } catch (e) {
            fail(info, 'onReport', e);
          }
        },
      };
      if (typeof inner.close === 'function') {
        flow.close = () => {
          try {
            inner.close?.();
          } catch (e) {
            fail(info, 'close', e);
          }
        };
      }
      return flow;
    },
  };
}
