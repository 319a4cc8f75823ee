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
import { DatapathTable, isPeerGone, type DatapathLimits } from './datapaths.ts';
import { formatMessage } from './format.ts';
import { createLogger, ExceptionTally, RateLimiter, type Logger } from './log.ts';
import { Observers, type AgentEventListener, type FlowView } from './observe.ts';
import { ProgramTable, type ProgramInfo } from './programs.ts';
import type { Algorithm, Report } from './types.ts';
import { UpdateWriter } from './updates.ts';

export type { AgentStats } from './core.ts';
export { ProgramsError, type ProgramInfo } from './programs.ts';
export { DEFAULT_LIMITS, type DatapathLimits } from './datapaths.ts';

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
  /**
   * Bounds on the agent's state: flows per datapath and in total, and the idle timeout after which
   * a datapath with no flows is forgotten (defaults: {@link DEFAULT_LIMITS}).
   */
  limits?: Partial<DatapathLimits> | undefined;
  /**
   * At `close()`, how long to wait (ms) for messages still queued in the transport to leave before
   * closing it (default 2000).
   */
  drainTimeoutMs?: number | undefined;
  /** Repeated log lines of one kind: how many per interval, and the interval (ms). */
  logBurst?: number | undefined;
  logIntervalMs?: number | undefined;
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
    flowsRefused: 0,
    datapathsPruned: 0,
  };
  const limiterOpts = { burst: opts.logBurst, intervalMs: opts.logIntervalMs };
  const limited = new RateLimiter(log, limiterOpts);
  const exceptions = new ExceptionTally(log, limiterOpts);
  let datapaths: DatapathTable | null = null;

  const send = (address: string, msg: Buffer): void => {
    if (debug) log.debug(`-> ${address} ${describe(msg, 'undecodable')}`);
    try {
      transport.send(msg, address);
      stats.messagesOut++;
    } catch (e) {
      const gone = isPeerGone(e);
      if (!gone) stats.errors++; // a datapath that left is not an error: it is removed
      // one kind for every vanished peer (a churn of datapaths is one story), one for other failures
      // (a datapath that left is normal, hence info; other failures are warnings)
      limited.write(
        gone ? 'info' : 'warn',
        gone ? 'send:peer-gone' : 'send',
        `send to ${address} failed: ${(e as Error).message}${gone ? '; removing that datapath' : ''}`,
      );
      if (gone) datapaths?.peerGone(address);
    }
  };
  const core: AgentCore = {
    log,
    limited,
    exceptions,
    debug,
    clock: opts.now ?? (() => performance.now() * 1000),
    stats,
    programs,
    updates: new UpdateWriter(send),
    maxPrograms,
    send,
    observers: new Observers(),
  };
  const table = new DatapathTable(core, opts.limits);
  datapaths = table;
  const loop = transportLoop(core, table);
  transport.onMessage(loop.onDatagram);
  transport.onError?.((e) => {
    // messages queued for a datapath that has since gone (the unix backlog's later retries)
    const gone = isPeerGone(e) ? /cannot send to (.+?): (?:ENOENT|ECONNREFUSED)/.exec(e.message) : null;
    if (gone !== null) {
      limited.info('send:peer-gone', `${e.message}; removing that datapath`);
      table.peerGone(gone[1]!);
      return;
    }
    stats.errors++;
    limited.error('transport', `transport error: ${e.message}`);
  });
  const idle = table.idleTimeoutMs;
  const sweeper = idle > 0 ? setInterval(() => table.sweep(), Math.max(10, idle / 2)) : null;
  sweeper?.unref();
  // a destination the transport gave up on: its flows are gone (deferred: this may be reported
  // from inside a send, in the middle of a flow's onReport)
  transport.onPeerGone?.((address, why) =>
    queueMicrotask(() => {
      if (!loop.closed) table.removeDatapath(address, why);
    }),
  );

  let stopped!: { resolve: () => void; reject: (e: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (stopped = { resolve, reject }));
  done.catch(() => {}); // a failure is reported to close()'s caller; wait() is optional

  return {
    async close(): Promise<void> {
      if (loop.closed) return done;
      loop.closed = true;
      try {
        if (sweeper !== null) clearInterval(sweeper);
        table.stop();
        table.closeAll();
        const left = transport.drain ? await transport.drain(opts.drainTimeoutMs ?? 2000) : 0;
        if (left > 0) log.warn(`${left} messages to datapaths were still queued at shutdown and are lost`);
        limited.close();
        exceptions.close();
        await transport.close();
      } catch (e) {
        stopped.reject(e);
        throw e;
      }
      stopped.resolve();
    },
    wait: () => done,
    stats(): AgentStats {
      stats.datapaths = table.size;
      stats.flows = table.flows;
      return { ...stats };
    },
    programs: () => programs.list(),
    forEachFlow(fn: (flow: FlowView) => void): void {
      for (const dp of table.values()) for (const f of dp.flows.values()) fn(f);
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
      core.limited.warn(
        `malformed:${from}`,
        `malformed MEASURE (${len} bytes) from ${from} for flow ${sid}; dropped`,
      );
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
      core.limited.warn(
        `malformed:${from}`,
        `flow ${sid} (${from}): report from unknown program uid ${uid}; dropped`,
      );
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
      core.exceptions.record(`flow ${sid} (${from})`, 'onReport threw', errText(e), firstLine(e));
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
      core.limited.warn(`malformed:${from}`, `ignoring message of type ${type} (${len} bytes) from ${from}`);
    } catch (e) {
      stats.dropped++;
      if (e instanceof WireError) {
        core.limited.warn(`malformed:${from}`, `malformed message from ${from}: ${e.message}; dropped`);
      } else {
        core.limited.error(`handler:${from}`, `error handling a message from ${from}: ${errText(e)}`);
      }
    }
  };

  const loop = {
    closed: false,
    onDatagram: (buf: Buffer, address: string): void => {
      if (loop.closed) return;
      const outerFrom = from;
      from = address;
      datapaths.touch(address);
      try {
        const err = forEachMessage(buf, onOne);
        if (err !== null) {
          stats.dropped++;
          core.limited.warn(
            `malformed:${address}`,
            `malformed datagram (${buf.length} bytes) from ${address}: ${err.message}; rest dropped`,
          );
        }
      } catch (e) {
        stats.dropped++;
        core.limited.error(`handler:${address}`, `error handling a datagram from ${address}: ${errText(e)}`);
      } finally {
        from = outerFrom;
      }
    },
  };
  return loop;
}
