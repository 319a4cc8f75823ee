/**
 * The agent runtime (spec datapath-machine.md §10), split as portus splits its own: this file is
 * the transport loop (receive, split, dispatch READY / CREATE / MEASURE, send); the datapath table
 * is `datapaths.ts`, the per-flow handle `flow.ts`, the program table `programs.ts` and the
 * UPDATE_FIELDS writer `updates.ts`.
 *
 * Hot path (MEASURE → onReport → UPDATE_FIELDS) allocates nothing per message: the flow's Report
 * object is reused and reads fields lazily from the receive buffer; updates are written into one
 * preallocated output buffer (sent through preallocated views) and flushed once per callback.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { WireError } from '../errors.ts';
import type { Transport } from '../ipc/index.ts';
import {
  MsgType,
  decode,
  forEachMessage,
  measureField,
  measureFieldCount,
  measureNumFields,
  measureProgramUid,
  readSid,
} from '../wire/index.ts';
import type { AlgClass } from './classic.ts';
import { errText, firstLine, type AgentCore, type AgentStats } from './core.ts';
import { DatapathTable } from './datapaths.ts';
import { formatMessage } from './format.ts';
import { createLogger, type Logger } from './log.ts';
import { Observers, type AgentEventListener, type FlowView } from './observe.ts';
import { ProgramTable, type ProgramInfo } from './programs.ts';
import type { Algorithm, Report } from './types.ts';
import { UpdateWriter } from './updates.ts';

export type { AgentStats } from './core.ts';
export { ProgramsError, type ProgramInfo } from './programs.ts';

/** Options of {@link startAgent}. */
export interface AgentOptions {
  /** An open transport (see `src/ipc`); the agent owns it from now on and closes it in `close()`. */
  transport: Transport;
  /** Algorithms, portus style or classic classes, in registration order (this fixes program uids). */
  algorithms: ReadonlyArray<Algorithm | AlgClass>;
  /** Name of the algorithm for flows whose CREATE names none of them (default: the first). */
  defaultAlgorithm?: string | undefined;
  /** Log every message in and out, decoded, one line each. */
  debug?: boolean | undefined;
  /** Where to log (default: stderr, level debug if `debug` else info). */
  log?: Logger | undefined;
  /** Programs a datapath's table can hold (default 9, ccp-kernel's 10 slots minus one). */
  maxPrograms?: number | undefined;
  /** Parameters handed to classic classes as `this.params`. */
  params?: Readonly<Record<string, string>> | undefined;
  /**
   * The agent's clock in microseconds, exposed to algorithms as `datapath.now()`. Default: a
   * monotonic wall clock (`performance.now()`). Simulators pass their simulated clock.
   */
  now?: (() => number) | undefined;
}

/** A running agent. */
export interface Agent {
  /** Close every flow (calling its close hook), then the transport. Idempotent. */
  close(): Promise<void>;
  /**
   * A promise that settles when the agent has stopped, like portus' `CCPHandle::wait`: it
   * fulfils once `close()` (from any caller, e.g. a signal handler) has closed every flow and the
   * transport, and rejects with the error if stopping failed (the transport could not be closed).
   * Every call returns the same promise; a rejection nobody waits for is not reported as unhandled.
   */
  wait(): Promise<void>;
  /** Current counters. */
  stats(): AgentStats;
  /** Programs known to the agent, by ascending uid. */
  programs(): ProgramInfo[];
  /** Call `fn` with a read-only view of every live flow (views are valid only during the call). */
  forEachFlow(fn: (flow: FlowView) => void): void;
  /** Listen to agent events (datapaths, flows, program switches, algorithm errors); returns the remover. */
  onEvent(listener: AgentEventListener): () => void;
  /** The agent's clock, µs (what algorithms see as `datapath.now()`). */
  now(): number;
}

/**
 * Start an agent on an open transport. Compiles every program of every algorithm first (uids
 * 1..N: algorithms in registration order, programs in declaration order) and throws
 * {@link ProgramsError} listing every compile error, or `PROGRAM_TABLE_FULL` if they exceed
 * `maxPrograms`. Then serves datapaths until `close()`.
 */
export function startAgent(opts: AgentOptions): Agent {
  const transport = opts.transport;
  const debug = opts.debug === true;
  const log = opts.log ?? createLogger(debug ? 'debug' : 'info');
  const maxPrograms = opts.maxPrograms ?? 9;
  const programs = new ProgramTable({
    algorithms: opts.algorithms,
    defaultAlgorithm: opts.defaultAlgorithm,
    params: opts.params ?? {},
    maxPrograms,
    log,
  });
  const stats: AgentStats = {
    datapaths: 0,
    flows: 0,
    reports: 0,
    messagesIn: 0,
    messagesOut: 0,
    dropped: 0,
    errors: 0,
  };

  const send = (address: string, msg: Buffer): void => {
    if (debug) log.debug(`-> ${address} ${describe(msg, 'undecodable')}`);
    try {
      transport.send(msg, address);
      stats.messagesOut++;
    } catch (e) {
      stats.errors++;
      log.error(`send to ${address} failed: ${(e as Error).message}`);
    }
  };
  const core: AgentCore = {
    log,
    debug,
    clock: opts.now ?? (() => performance.now() * 1000),
    stats,
    programs,
    updates: new UpdateWriter(send),
    maxPrograms,
    send,
    observers: new Observers(),
  };
  const datapaths = new DatapathTable(core);
  const loop = transportLoop(core, datapaths);
  transport.onMessage(loop.onDatagram);
  transport.onError?.((e) => {
    stats.errors++;
    log.error(`transport error: ${e.message}`);
  });

  let stopped!: { resolve: () => void; reject: (e: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (stopped = { resolve, reject }));
  done.catch(() => {}); // a failure is reported to close()'s caller; wait() is optional

  return {
    async close(): Promise<void> {
      if (loop.closed) return done;
      loop.closed = true;
      try {
        datapaths.closeAll();
        await transport.close();
      } catch (e) {
        stopped.reject(e);
        throw e;
      }
      stopped.resolve();
    },
    wait: () => done,
    stats(): AgentStats {
      stats.datapaths = datapaths.size;
      stats.flows = datapaths.flows;
      return { ...stats };
    },
    programs: () => programs.list(),
    forEachFlow(fn: (flow: FlowView) => void): void {
      for (const dp of datapaths.values()) for (const f of dp.flows.values()) fn(f);
    },
    onEvent: (listener) => core.observers.add(listener),
    now: () => core.clock(),
  };
}

/** One message decoded for a debug line. */
function describe(msg: Buffer, what: string): string {
  try {
    return formatMessage(decode(msg));
  } catch (e) {
    return `(${what}: ${(e as Error).message})`;
  }
}

/**
 * The receive side: split each datagram into messages and dispatch them. `from` is the sender of
 * the datagram being handled, saved and restored around each delivery because a synchronous
 * transport may deliver re-entrantly from inside a send.
 */
function transportLoop(core: AgentCore, datapaths: DatapathTable) {
  const { log, stats, debug, programs, updates } = core;
  let from = '';

  const onMeasure = (buf: Buffer, off: number, len: number): void => {
    const dp = datapaths.get(from);
    if (dp === undefined) {
      stats.dropped++;
      if (debug) log.debug(`ignoring MEASURE from unknown datapath ${from}`);
      return;
    }
    const sid = readSid(buf, off);
    const f = dp.flows.get(sid);
    if (f === undefined) {
      stats.dropped++;
      if (debug) log.debug(`ignoring MEASURE for unknown flow ${sid} (${from})`);
      return;
    }
    if (len < 16) {
      stats.dropped++;
      log.warn(`malformed MEASURE (${len} bytes) from ${from} for flow ${sid}; dropped`);
      return;
    }
    if (measureNumFields(buf, off) === 0) {
      log.debug(`flow ${sid} (${from}) closed by the datapath`);
      datapaths.closeFlow(f, 'datapath closed the flow');
      return;
    }
    const uid = measureProgramUid(buf, off);
    const prog = programs.get(uid);
    if (prog === undefined) {
      stats.dropped++;
      log.warn(`flow ${sid} (${from}): report from unknown program uid ${uid}; dropped`);
      return;
    }
    const u = f.user;
    if (u === null) {
      stats.dropped++;
      return;
    }
    let r = f.lastReport;
    if (r === null || r._prog !== prog) r = f.reportFor(prog);
    // A report delivered while the flow's previous one is still being handled (only possible with
    // a transport that delivers synchronously from inside send) gets its own object.
    if (r._buf !== null) r = new prog.reportClass(f, prog);
    r._buf = buf;
    r._off = off;
    r._count = measureFieldCount(buf, off);
    r._stale = f.currentUid !== uid; // decided at delivery: a switch inside onReport does not change it
    stats.reports++;
    f.reportCount++;
    const rf = prog.rttField;
    if (rf >= 0 && rf < r._count) f.lastRttUs = measureField(buf, off, rf);
    const outer = updates.enter();
    try {
      u.onReport(r as unknown as Report);
    } catch (e) {
      stats.errors++;
      log.error(`flow ${sid} (${from}): onReport threw: ${errText(e)}`);
      datapaths.algorithmError(f, `onReport threw: ${firstLine(e)}`);
    } finally {
      r._buf = null;
      updates.leave(outer);
    }
  };

  const onOne = (buf: Buffer, off: number, type: number, len: number): void => {
    stats.messagesIn++;
    try {
      if (debug) log.debug(`<- ${from} ${describe(buf.subarray(off, off + len), 'malformed')}`);
      if (type === MsgType.MEASURE) {
        onMeasure(buf, off, len);
        return;
      }
      if (type === MsgType.CREATE || type === MsgType.READY) {
        const m = decode(buf.subarray(off, off + len));
        if (m.type === MsgType.CREATE) datapaths.create(from, m);
        else if (m.type === MsgType.READY) datapaths.register(from, `READY id=${m.id}`);
        return;
      }
      stats.dropped++;
      log.warn(`ignoring message of type ${type} (${len} bytes) from ${from}`);
    } catch (e) {
      stats.dropped++;
      if (e instanceof WireError) log.warn(`malformed message from ${from}: ${e.message}; dropped`);
      else log.error(`error handling a message from ${from}: ${errText(e)}`);
    }
  };

  const loop = {
    closed: false,
    onDatagram: (buf: Buffer, address: string): void => {
      if (loop.closed) return;
      const outerFrom = from;
      from = address;
      try {
        const err = forEachMessage(buf, onOne);
        if (err !== null) {
          stats.dropped++;
          log.warn(`malformed datagram (${buf.length} bytes) from ${address}: ${err.message}; rest dropped`);
        }
      } catch (e) {
        stats.dropped++;
        log.error(`error handling a datagram from ${address}: ${errText(e)}`);
      } finally {
        from = outerFrom;
      }
    },
  };
  return loop;
}
