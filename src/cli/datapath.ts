/**
 * `portus datapath`: run the libccp-compatible datapath machine as a standalone process over a unix
 * datagram socket, against an agent, with synthetic ACKs.
 *
 * It binds its own socket, sends READY to the agent, waits for the agent's INSTALL_EXPR messages,
 * starts `--flows` flows (one CREATE each) and feeds each flow `--rate` ACKs per second for
 * `--duration` seconds, then closes the flows and waits (bounded by `--drain-ms`) until every
 * queued message, the closes included, has left. With `--json` every event is one JSON line on
 * stdout, the last one a `summary`; otherwise it prints a few human-readable lines. Diagnostics go
 * to stderr, rate-limited.
 *
 * With `--reconnect` it watches the agent's socket file: when a new agent binds there it sends
 * READY again and one CREATE per live flow, so the new agent controls them (libccp and ccp-kernel
 * do not do this: their flows stay in fallback until they end).
 * @module
 */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { ipv4ToRaw, portToRaw } from '../agent/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import { createDatapath, type Datapath, type DatapathConfig, type LogLevel } from '../datapath/index.ts';
import { openUnix, type Transport } from '../ipc/index.ts';
import { RateLimiter, STOP_SIGNALS, createLogger } from '../agent/index.ts';
import { fillAck, type FlowState } from './datapath-acks.ts';
import { LEVELS, datapathCommand, datapathLogLevel, type DatapathCliOptions } from './datapath-args.ts';
import { humanOutput, type Emit, type HumanOutput } from './datapath-output.ts';
import { EXIT_PIPE_CLOSED, onClosedPipe } from './stdout.ts';

export { datapathLogLevel, type DatapathCliOptions } from './datapath-args.ts';

/** Register `portus datapath`. */
export function register(program: Command): void {
  datapathCommand(program).action(async (opts: DatapathCliOptions) => {
    process.exitCode = await runDatapath(opts);
  });
}

const MSG_NAMES: Record<number, string> = { 2: 'install', 3: 'update_fields', 4: 'change_prog' };

/** Counters for the summary. */
interface Stats {
  acks: number;
  reports: number;
  messagesReceived: number;
  sendFailures: number;
  setCwndCalls: number;
  setRateCalls: number;
  reconnects: number;
  invokeResults: Record<string, number>;
}

/** The state of one run of the standalone datapath. */
interface Run {
  readonly opts: DatapathCliOptions;
  readonly initCwnd: number;
  readonly flows: Map<number, FlowState>;
  readonly stats: Stats;
  /** Datapath clock in µs (never 0: libccp treats a 0 timestamp as "never"). */
  clock: number;
  /** Wall clock in µs since the start, + 1. */
  readonly wallUs: () => number;
  readonly emit: Emit;
  readonly diag: (lv: LogLevel, key: string, msg: string) => void;
  readonly limited: RateLimiter;
  readonly human: HumanOutput | null;
  installs: number;
  lastInstallAt: number;
  /** Whether the last send to the agent failed because no socket was bound there. */
  agentGone: boolean;
  /** Set once the summary is out: later messages are ignored. */
  finished: boolean;
  stopping: boolean;
  signal: string;
  /** stdout's reader went away (`portus datapath --json | head`): stop like on a signal, exit 141. */
  pipeClosed: boolean;
  /** Ends the current {@link sleep} early (a stop signal). */
  wake: (() => void) | null;
}

/** True if a send error says no socket is bound at the destination. */
function peerGone(e: unknown): boolean {
  return /\b(ENOENT|ECONNREFUSED)\b/.test(e instanceof Error ? e.message : String(e));
}

/** Identity of the socket file at `path` (changes when a new agent binds there), or ''. */
function socketIdentity(path: string): string {
  const st = statSync(path, { throwIfNoEntry: false });
  return st && st.isSocket() ? `${st.ino}:${st.ctimeMs}` : '';
}

/** Move the datapath clock forward to `t` (never back). */
function advance(run: Run, t: number): void {
  run.clock = Math.max(run.clock, Math.floor(t));
}

/** Sleep `ms`, or until a stop signal wakes the run. */
function sleep(run: Run, ms: number): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(() => {
      run.wake = null;
      r();
    }, ms);
    run.wake = () => {
      clearTimeout(t);
      run.wake = null;
      r();
    };
  });
}

/** A run's state, its diagnostics (stderr, rate-limited) and its event output through `out`. */
function newRun(opts: DatapathCliOptions, out: (line: string) => void): Run {
  const minLevel = LEVELS.indexOf(datapathLogLevel(opts.logLevel));
  const stderrLog = createLogger('debug', (l) => process.stderr.write(`portus datapath: ${l.slice(25)}\n`));
  const limited = new RateLimiter(stderrLog);
  const start = performance.now();
  const flows = new Map<number, FlowState>();
  const stats: Stats = {
    acks: 0,
    reports: 0,
    messagesReceived: 0,
    sendFailures: 0,
    setCwndCalls: 0,
    setRateCalls: 0,
    reconnects: 0,
    invokeResults: {},
  };
  const human = opts.json ? null : humanOutput(out, { flows, stats, isTTY: process.stdout.isTTY === true });
  const run: Run = {
    opts,
    initCwnd: opts.initCwnd ?? 10 * opts.mss,
    flows,
    stats,
    clock: 1,
    wallUs: () => Math.floor((performance.now() - start) * 1000) + 1,
    emit: (ev, fields = {}) => {
      if (human !== null) human.event(run.clock, ev, fields);
      else out(JSON.stringify({ t_us: run.clock, ev, ...fields }));
    },
    diag: (lv, key, msg) => {
      if (LEVELS.indexOf(lv) < minLevel) return;
      limited.write(lv === 'trace' ? 'debug' : lv, key, msg);
    },
    limited,
    human,
    installs: 0,
    lastInstallAt: 0,
    agentGone: false,
    finished: false,
    stopping: false,
    signal: '',
    pipeClosed: false,
    wake: null,
  };
  return run;
}

/** The datapath's callbacks: send to the agent over `transport`, record and print cwnd/rate. */
function datapathConfig(run: Run, transport: Transport): DatapathConfig {
  const { opts, stats, flows, emit, diag } = run;
  return {
    id: opts.id,
    ftoUs: opts.ftoUs,
    now: () => run.clock,
    send(msg) {
      if (msg[0] === 1 && msg.readUInt32LE(8) !== 0) stats.reports++;
      try {
        transport.send(msg, opts.agent);
        run.agentGone = false;
        return 0;
      } catch (e) {
        stats.sendFailures++;
        const error = (e as Error).message;
        if (peerGone(e)) {
          if (!run.agentGone) {
            run.agentGone = true;
            emit('agent_gone', { agent: opts.agent, error });
          }
        } else {
          diag('warn', 'send', `send failed: ${error}`);
        }
        return -1;
      }
    },
    setCwnd(conn, bytes) {
      stats.setCwndCalls++;
      const f = flows.get(conn.sid);
      if (!f) return;
      f.cwnd = bytes;
      if (bytes !== f.shownCwnd) {
        f.shownCwnd = bytes;
        emit('set_cwnd', { sid: conn.sid, cwnd: bytes });
      }
    },
    setRate(conn, bytesPerSec) {
      stats.setRateCalls++;
      const f = flows.get(conn.sid);
      if (!f) return;
      f.rate = bytesPerSec;
      if (bytesPerSec !== f.shownRate) {
        f.shownRate = bytesPerSec;
        emit('set_rate', { sid: conn.sid, rate: bytesPerSec });
      }
    },
    log(lv, msg) {
      // Expected while a flow waits for its first CHANGE_PROG (counted in invoke_results as -96).
      const sid = /^\[sid=(\d+)\] datapath program is null/.exec(msg);
      if (sid !== null && flows.get(Number(sid[1]))?.controlled !== true) lv = 'debug';
      diag(lv, msg.replace(/\d+/g, 'N'), msg);
    },
  };
}

/** A message from the agent: hand it to the datapath and print a `recv` event. */
function onAgentMessage(run: Run, dp: Datapath, buf: Buffer): void {
  if (run.finished) return;
  advance(run, run.wallUs());
  run.stats.messagesReceived++;
  const type = buf.length >= 2 ? buf.readUInt16LE(0) : -1;
  const code = dp.receive(buf);
  const fields: Record<string, unknown> = {
    type: MSG_NAMES[type] ?? `type_${type}`,
    len: buf.length,
    code,
  };
  if (type === 2 && buf.length >= 12) {
    fields.uid = buf.readUInt32LE(8);
    run.installs++;
    run.lastInstallAt = run.clock;
  } else if ((type === 3 || type === 4) && buf.length >= 8) {
    const sid = buf.readUInt16LE(4);
    fields.sid = sid;
    if (type === 4 && buf.length >= 12) fields.uid = buf.readUInt32LE(8);
    const f = run.flows.get(sid);
    if (type === 4 && code === 0 && f !== undefined && !f.controlled) {
      f.controlled = true;
      run.human?.controlled();
    }
  }
  run.emit('recv', fields);
}

/** --reconnect: every 100 ms, check whether a new agent has bound the agent path. */
function watchAgent(run: Run, dp: Datapath): NodeJS.Timeout {
  let agentId = socketIdentity(run.opts.agent);
  return setInterval(() => {
    const id = socketIdentity(run.opts.agent);
    if (id === agentId) return;
    agentId = id;
    if (id === '') return; // the agent went away; wait for the next one
    for (const f of run.flows.values()) f.controlled = false;
    run.human?.uncontrolled();
    advance(run, run.wallUs());
    const code = dp.reconnect();
    run.stats.reconnects++;
    run.emit('reconnect', { agent: run.opts.agent, flows: run.flows.size, code });
  }, 100);
}

/** With --wait-ms: wait for the agent's first INSTALL, then until none arrived for 100 ms. */
async function waitForInstalls(run: Run): Promise<void> {
  const waitMs = run.opts.waitMs;
  const waitStart = run.wallUs();
  while (!run.stopping && waitMs > 0) {
    const now = run.wallUs();
    if (run.installs === 0 && now - waitStart >= waitMs * 1000) {
      run.emit('no_install', { waited_ms: waitMs });
      break;
    }
    if (run.installs > 0 && now - run.lastInstallAt >= 100_000) break;
    await sleep(run, 5);
  }
}

/** Start `--flows` flows (one CREATE each). */
function startFlows(run: Run, dp: Datapath): void {
  const { opts, initCwnd } = run;
  advance(run, run.wallUs());
  for (let i = 0; i < opts.flows && !run.stopping; i++) {
    const conn = dp.startConnection({
      initCwnd,
      mss: opts.mss,
      // 127.0.0.1:(10000 + i) > 127.0.0.1:5001 in network byte order, as ccp-kernel sends them
      srcIp: ipv4ToRaw('127.0.0.1'),
      srcPort: portToRaw((10000 + i) & 0xffff),
      dstIp: ipv4ToRaw('127.0.0.1'),
      dstPort: portToRaw(5001),
      congAlg: opts.alg,
    });
    if (!conn) {
      run.emit('flow_rejected', { reason: 'no free connection slot' });
      continue;
    }
    run.flows.set(conn.sid, {
      conn,
      acks: 0,
      cwnd: initCwnd,
      rate: 0,
      shownCwnd: initCwnd,
      shownRate: 0,
      controlled: false,
    });
    run.emit('flow_start', { sid: conn.sid, init_cwnd: initCwnd, mss: opts.mss, alg: opts.alg });
  }
  run.human?.started();
}

/** The ACK clock: ACK n of each flow is due at start + n / rate; ticks process what is due. */
async function ackLoop(run: Run, dp: Datapath): Promise<void> {
  const { opts, stats } = run;
  const ackStart = run.wallUs();
  const endUs = ackStart + Math.round(opts.duration * 1e6);
  const totalAcks = Math.floor(opts.duration * opts.rate);
  const periodUs = opts.rate > 0 ? 1e6 / opts.rate : Infinity;
  const tickMs = Math.max(1, Math.min(10, Math.floor(periodUs / 1000)));
  let done = 0;
  while (!run.stopping) {
    const now = run.wallUs();
    const due = now >= endUs ? totalAcks : Math.min(totalAcks, Math.floor((now - ackStart) / periodUs));
    for (; done < due; done++) {
      advance(run, ackStart + (done + 1) * periodUs);
      const n = done + 1;
      for (const f of run.flows.values()) {
        fillAck(f.conn.prims, opts, f, n);
        f.acks++;
        stats.acks++;
        const code = dp.invoke(f.conn);
        stats.invokeResults[code] = (stats.invokeResults[code] ?? 0) + 1;
      }
    }
    run.human?.tick(now);
    if (now >= endUs && done >= totalAcks) break;
    await sleep(run, tickMs);
  }
}

/** The final `summary` event's fields. */
function summary(run: Run, undelivered: number): Record<string, unknown> {
  const { stats, flows } = run;
  return {
    flows: flows.size,
    acks: stats.acks,
    reports: stats.reports,
    messages_received: stats.messagesReceived,
    send_failures: stats.sendFailures,
    undelivered,
    reconnects: stats.reconnects,
    set_cwnd_calls: stats.setCwndCalls,
    set_rate_calls: stats.setRateCalls,
    invoke_results: stats.invokeResults,
    final: [...flows.values()].map((f) => ({ sid: f.conn.sid, cwnd: f.cwnd, rate: f.rate, acks: f.acks })),
    interrupted: run.stopping,
    ...(run.signal !== '' ? { signal: run.signal } : {}),
  };
}

/** The run itself, from `init` to the summary (the transport and signals are set up by the caller). */
async function serve(run: Run, dp: Datapath, transport: Transport, socketPath: string): Promise<number> {
  const { opts } = run;
  advance(run, run.wallUs());
  const initCode = dp.init();
  if (initCode !== 0) throw new PortusError(ErrorCodes.USAGE, `datapath init failed (${initCode})`);
  if (run.agentGone && opts.reconnect !== true) {
    throw new PortusError(
      ErrorCodes.IPC_UNAVAILABLE,
      `no agent listening at ${opts.agent} (start one with \`portus run\`)`,
    );
  }
  run.emit('ready', { id: opts.id, socket: socketPath, agent: opts.agent });
  await waitForInstalls(run);
  startFlows(run, dp);
  await ackLoop(run, dp);
  advance(run, run.wallUs());
  for (const sid of [...run.flows.keys()]) {
    dp.freeConnection(sid);
    run.emit('flow_close', { sid });
  }
  // Every queued message (the closes included) leaves before the transport closes.
  const drainMs = opts.drainMs ?? 5000;
  const undelivered = transport.drain ? await transport.drain(drainMs) : 0;
  if (undelivered > 0) {
    run.diag(
      'warn',
      'undelivered',
      `${undelivered} messages (closes included) were still queued for the agent after ${drainMs} ms and are lost`,
    );
  }
  run.finished = true;
  run.emit('summary', summary(run, undelivered));
  return 0;
}

/**
 * Run the standalone datapath until `duration` has elapsed (or SIGINT/SIGTERM/SIGHUP). Resolves to
 * the exit code. Writes its output lines through `out` (default: stdout).
 *
 * With the default `out`, a closed stdout (`portus datapath --json | head`) stops the run as a
 * signal does: the flows are closed and their CLOSE messages drained to the agent (which would
 * otherwise keep them until its idle timeout), nothing more is printed, and it resolves to
 * {@link EXIT_PIPE_CLOSED}.
 * @throws PortusError(IPC_UNAVAILABLE) when no agent listens at `opts.agent` (without `reconnect`).
 */
export async function runDatapath(opts: DatapathCliOptions, out?: (line: string) => void): Promise<number> {
  if (opts.ipc !== 'unix')
    throw new PortusError(ErrorCodes.USAGE, `--ipc ${opts.ipc} is not supported (only unix)`);
  const socketPath = opts.socket ?? `/tmp/ccp/datapath-${process.pid}`;
  const toStdout = (l: string): void => {
    if (!run.pipeClosed) process.stdout.write(l + '\n');
  };
  const run = newRun(opts, out ?? toStdout);
  const transport: Transport = await openUnix({ path: socketPath, peer: opts.agent });
  transport.onError?.((err) => run.diag('warn', 'transport', err.message));
  const dp = createDatapath(datapathConfig(run, transport));
  transport.onMessage((buf) => onAgentMessage(run, dp, buf));
  const onSignal = (sig: NodeJS.Signals): void => {
    run.stopping = true;
    run.signal = sig;
    run.wake?.();
  };
  for (const sig of STOP_SIGNALS) process.once(sig, onSignal);
  const removePipeHandler =
    out === undefined
      ? onClosedPipe(process.stdout, () => {
          run.pipeClosed = true;
          run.stopping = true;
          run.wake?.();
        })
      : () => {};
  const watcher = opts.reconnect === true ? watchAgent(run, dp) : null;
  let code: number;
  try {
    code = await serve(run, dp, transport, socketPath);
  } finally {
    if (watcher !== null) clearInterval(watcher);
    for (const sig of STOP_SIGNALS) process.removeListener(sig, onSignal);
    run.finished = true;
    run.limited.close();
    await transport.close();
    removePipeHandler();
  }
  return run.pipeClosed ? EXIT_PIPE_CLOSED : code;
}
