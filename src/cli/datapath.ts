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
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { ipv4ToRaw, portToRaw } from '../agent/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import { createDatapath, type Connection, type Datapath, type LogLevel } from '../datapath/index.ts';
import { openUnix, type Transport } from '../ipc/index.ts';
import { RateLimiter, STOP_SIGNALS, createLogger } from '../agent/index.ts';
import { humanOutput, type Emit } from './datapath-output.ts';

/** Options of {@link runDatapath} (the command's flags). */
export interface DatapathCliOptions {
  ipc: string;
  agent: string;
  socket?: string;
  flows: number;
  mss: number;
  initCwnd?: number;
  alg: string;
  rate: number;
  duration: number;
  rttUs: number;
  rttStepUs: number;
  lossEvery: number;
  ecnEvery: number;
  timeoutEvery: number;
  waitMs: number;
  ftoUs: number;
  id: number;
  /** Datapath log messages at or above this level go to stderr (default: `PORTUS_LOG`, else warn). */
  logLevel?: LogLevel | 'none';
  /** JSON lines on stdout (default: human-readable lines). */
  json?: boolean;
  /** Re-register live flows with a new agent that appears at the agent path. */
  reconnect?: boolean;
  /** How long to wait at exit for queued messages to leave (ms). */
  drainMs?: number;
}

const LEVELS: Array<LogLevel | 'none'> = ['trace', 'debug', 'info', 'warn', 'error', 'none'];

/** The datapath's log level: the flag, else `PORTUS_LOG` (`silent` = none), else warn. */
export function datapathLogLevel(
  flag: string | undefined,
  env: string | undefined = process.env.PORTUS_LOG,
): LogLevel | 'none' {
  const v = (flag ?? env ?? '').trim().toLowerCase();
  if (v === '') return 'warn';
  if (v === 'silent') return 'none';
  if ((LEVELS as string[]).includes(v)) return v as LogLevel | 'none';
  throw new PortusError(
    ErrorCodes.USAGE,
    `${flag !== undefined ? '--log-level' : 'PORTUS_LOG'} must be one of ${LEVELS.join(', ')}, silent; got '${v}'`,
  );
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

function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min} … ${max}`);
    }
    return n;
  };
}

function numArg(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number ≥ ${min}`);
    return n;
  };
}

/** Register `portus datapath`. */
export function register(program: Command): void {
  program
    .command('datapath')
    .description(
      'run a libccp-compatible datapath (the TypeScript machine) with synthetic ACKs against an agent over a unix socket',
    )
    .addOption(new Option('--ipc <kind>', 'transport to the agent').choices(['unix']).default('unix'))
    .option('--agent <path>', "the agent's socket path", '/tmp/ccp/portus')
    .option('--socket <path>', 'socket path this datapath binds (default /tmp/ccp/datapath-<pid>)')
    .option('--flows <n>', 'number of flows', intArg('--flows', 0, 65535), 1)
    .option('--mss <bytes>', 'maximum segment size', intArg('--mss', 1, 0xffffffff), 1448)
    .option(
      '--init-cwnd <bytes>',
      'initial congestion window in bytes (default 10 x mss)',
      intArg('--init-cwnd', 1, 0xffffffff),
    )
    .option('--alg <name>', 'algorithm name sent in CREATE (empty: the agent default)', '')
    .option('--rate <acks>', 'synthetic ACKs per second per flow', numArg('--rate', 0), 1000)
    .option('--duration <s>', 'seconds of ACKs before the flows close', numArg('--duration', 0), 10)
    .option('--rtt-us <us>', 'base RTT sample in µs', intArg('--rtt-us', 0), 10000)
    .option(
      '--rtt-step-us <us>',
      'RTT sample = rtt-us + (ack number mod 8) x rtt-step-us',
      intArg('--rtt-step-us', 0),
      0,
    )
    .option(
      '--loss-every <k>',
      'every k-th ACK reports a lost packet instead of an ack (0 = never)',
      intArg('--loss-every', 0),
      0,
    )
    .option(
      '--ecn-every <k>',
      'every k-th ACK carries ECN (ecn_packets 1, ecn_bytes mss; 0 = never)',
      intArg('--ecn-every', 0),
      0,
    )
    .option(
      '--timeout-every <k>',
      'every k-th ACK has was_timeout set (0 = never)',
      intArg('--timeout-every', 0),
      0,
    )
    .option(
      '--wait-ms <ms>',
      "how long to wait for the agent's first INSTALL before starting flows (0: start at once; " +
        'the agent handles READY before CREATE, so its programs arrive first anyway)',
      intArg('--wait-ms', 0),
      0,
    )
    .option(
      '--fto-us <us>',
      'fallback timeout in µs (libccp fto_us; ccp-kernel uses 1000)',
      intArg('--fto-us', 1),
      1000,
    )
    .option('--id <n>', 'datapath id sent in READY', intArg('--id', 0, 0xffffffff), 0)
    .addOption(
      new Option(
        '--log-level <level>',
        'datapath log messages written to stderr, rate-limited (default: $PORTUS_LOG, else warn)',
      ).choices([...LEVELS, 'silent']),
    )
    .option('--json', 'one JSON line per event on stdout (default: human-readable lines)')
    .option(
      '--reconnect',
      'when a new agent binds the agent path, send READY and a CREATE per live flow again (beyond libccp)',
    )
    .option(
      '--drain-ms <ms>',
      'at exit, how long to wait for queued messages (the closes) to reach the agent',
      intArg('--drain-ms', 0),
      5000,
    )
    .addHelpText(
      'after',
      `
Synthetic ACKs (per flow, ACK number n = 1, 2, ...):
  normally bytes_acked = mss, packets_acked = 1;
  every k-th with --loss-every k: bytes_acked = 0, packets_acked = 0, packets_misordered = 1,
    bytes_misordered = mss, lost_pkts_sample = 1;
  --ecn-every k: ecn_packets = 1, ecn_bytes = mss;  --timeout-every k: was_timeout = true;
  rtt_sample_us = rtt-us + (n mod 8) x rtt-step-us; snd_cwnd / snd_rate = the flow's current values
  (from set_cwnd / set_rate; initially init-cwnd and 0); bytes_in_flight = cwnd,
  packets_in_flight = cwnd / mss; rate_outgoing = rate_incoming = cwnd x 10^6 / rtt.

Output with --json: one JSON line per event on stdout, e.g.
  {"t_us":1234,"ev":"set_cwnd","sid":1,"cwnd":15928}
events: ready, recv (messages from the agent, with the libccp result code), flow_start,
set_cwnd / set_rate (when the value changes), agent_gone, reconnect, flow_close, and a final
summary (with undelivered: messages still queued when --drain-ms ran out).
Without --json: a start line, a status line per second on a terminal, and a summary.

Exit status: 0 after a full run or a signal (SIGINT, SIGTERM, SIGHUP: flows are closed and the
closes delivered), 1 if no agent is listening at --agent (unless --reconnect).`,
    )
    .action(async (opts: DatapathCliOptions) => {
      process.exitCode = await runDatapath(opts);
    });
}

const MSG_NAMES: Record<number, string> = { 2: 'install', 3: 'update_fields', 4: 'change_prog' };

interface FlowState {
  conn: Connection;
  acks: number;
  cwnd: number;
  rate: number;
  /** Last values printed, to report changes only. */
  shownCwnd: number;
  shownRate: number;
  /** A CHANGE_PROG from the (current) agent has been applied. */
  controlled: boolean;
}

/**
 * Run the standalone datapath until `duration` has elapsed (or SIGINT/SIGTERM/SIGHUP). Resolves to
 * the exit code. Writes its output lines through `out` (default: stdout).
 * @throws PortusError(IPC_UNAVAILABLE) when no agent listens at `opts.agent` (without `reconnect`).
 */
export async function runDatapath(
  opts: DatapathCliOptions,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): Promise<number> {
  if (opts.ipc !== 'unix')
    throw new PortusError(ErrorCodes.USAGE, `--ipc ${opts.ipc} is not supported (only unix)`);
  const mss = opts.mss;
  const initCwnd = opts.initCwnd ?? 10 * mss;
  const socketPath = opts.socket ?? `/tmp/ccp/datapath-${process.pid}`;
  const level = datapathLogLevel(opts.logLevel);
  const minLevel = LEVELS.indexOf(level);
  const stderrLog = createLogger('debug', (l) => process.stderr.write(`portus datapath: ${l.slice(25)}\n`));
  const limited = new RateLimiter(stderrLog);
  const diag = (lv: LogLevel, key: string, msg: string): void => {
    if (LEVELS.indexOf(lv) < minLevel) return;
    limited.write(lv === 'trace' ? 'debug' : lv, key, msg);
  };
  const start = performance.now();
  // Datapath clock in µs (never 0: libccp treats a 0 timestamp as "never").
  let clock = 1;
  const wallUs = (): number => Math.floor((performance.now() - start) * 1000) + 1;
  const advance = (t: number): number => (clock = Math.max(clock, Math.floor(t)));
  const flows = new Map<number, FlowState>();
  const stats = {
    acks: 0,
    reports: 0,
    messagesReceived: 0,
    sendFailures: 0,
    setCwndCalls: 0,
    setRateCalls: 0,
    reconnects: 0,
    invokeResults: {} as Record<string, number>,
  };
  const human = opts.json ? null : humanOutput(out, { flows, stats, isTTY: process.stdout.isTTY === true });
  const emit: Emit = (ev, fields = {}) => {
    if (human !== null) human.event(clock, ev, fields);
    else out(JSON.stringify({ t_us: clock, ev, ...fields }));
  };

  const transport: Transport = await openUnix({ path: socketPath, peer: opts.agent });
  transport.onError?.((err) => diag('warn', 'transport', err.message));
  let installs = 0;
  let lastInstallAt = 0;
  /** Whether the last send to the agent failed because no socket was bound there. */
  let agentGone = false;
  let lastSendError = '';

  const dp: Datapath = createDatapath({
    id: opts.id,
    ftoUs: opts.ftoUs,
    now: () => clock,
    send(msg) {
      if (msg[0] === 1 && msg.readUInt32LE(8) !== 0) stats.reports++;
      try {
        transport.send(msg, opts.agent);
        agentGone = false;
        return 0;
      } catch (e) {
        stats.sendFailures++;
        lastSendError = (e as Error).message;
        if (peerGone(e)) {
          if (!agentGone) {
            agentGone = true;
            emit('agent_gone', { agent: opts.agent, error: lastSendError });
          }
        } else {
          diag('warn', 'send', `send failed: ${lastSendError}`);
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
  });

  let finished = false;
  transport.onMessage((buf) => {
    if (finished) return;
    advance(wallUs());
    stats.messagesReceived++;
    const type = buf.length >= 2 ? buf.readUInt16LE(0) : -1;
    const code = dp.receive(buf);
    const fields: Record<string, unknown> = {
      type: MSG_NAMES[type] ?? `type_${type}`,
      len: buf.length,
      code,
    };
    if (type === 2 && buf.length >= 12) {
      fields.uid = buf.readUInt32LE(8);
      installs++;
      lastInstallAt = clock;
    } else if ((type === 3 || type === 4) && buf.length >= 8) {
      const sid = buf.readUInt16LE(4);
      fields.sid = sid;
      if (type === 4 && buf.length >= 12) fields.uid = buf.readUInt32LE(8);
      const f = flows.get(sid);
      if (type === 4 && code === 0 && f !== undefined && !f.controlled) {
        f.controlled = true;
        human?.controlled();
      }
    }
    emit('recv', fields);
  });

  let stopping = false;
  let signal = '';
  const onSignal = (sig: NodeJS.Signals): void => {
    stopping = true;
    signal = sig;
    wake?.();
  };
  for (const sig of STOP_SIGNALS) process.once(sig, onSignal);
  let wake: (() => void) | null = null;
  const sleep = (ms: number): Promise<void> =>
    new Promise((r) => {
      const t = setTimeout(() => {
        wake = null;
        r();
      }, ms);
      wake = () => {
        clearTimeout(t);
        wake = null;
        r();
      };
    });

  // --reconnect: a new agent has bound the agent path (the socket file's identity changed).
  let agentId = socketIdentity(opts.agent);
  const checkAgent = (): void => {
    const id = socketIdentity(opts.agent);
    if (id === agentId) return;
    agentId = id;
    if (id === '') return; // the agent went away; wait for the next one
    for (const f of flows.values()) f.controlled = false;
    human?.uncontrolled();
    advance(wallUs());
    const code = dp.reconnect();
    stats.reconnects++;
    emit('reconnect', { agent: opts.agent, flows: flows.size, code });
  };
  const watcher = opts.reconnect === true ? setInterval(checkAgent, 100) : null;

  let undelivered = 0;
  try {
    advance(wallUs());
    const initCode = dp.init();
    if (initCode !== 0) throw new PortusError(ErrorCodes.USAGE, `datapath init failed (${initCode})`);
    if (agentGone && opts.reconnect !== true) {
      throw new PortusError(
        ErrorCodes.IPC_UNAVAILABLE,
        `no agent listening at ${opts.agent} (start one with \`portus run\`)`,
      );
    }
    emit('ready', { id: opts.id, socket: socketPath, agent: opts.agent });

    // Optionally wait for the agent's INSTALLs: the first one, then until none arrived for 100 ms.
    const waitStart = wallUs();
    while (!stopping && opts.waitMs > 0) {
      const now = wallUs();
      if (installs === 0 && now - waitStart >= opts.waitMs * 1000) {
        emit('no_install', { waited_ms: opts.waitMs });
        break;
      }
      if (installs > 0 && now - lastInstallAt >= 100_000) break;
      await sleep(5);
    }

    advance(wallUs());
    for (let i = 0; i < opts.flows && !stopping; i++) {
      const conn = dp.startConnection({
        initCwnd,
        mss,
        // 127.0.0.1:(10000 + i) > 127.0.0.1:5001 in network byte order, as ccp-kernel sends them
        srcIp: ipv4ToRaw('127.0.0.1'),
        srcPort: portToRaw((10000 + i) & 0xffff),
        dstIp: ipv4ToRaw('127.0.0.1'),
        dstPort: portToRaw(5001),
        congAlg: opts.alg,
      });
      if (!conn) {
        emit('flow_rejected', { reason: 'no free connection slot' });
        continue;
      }
      flows.set(conn.sid, {
        conn,
        acks: 0,
        cwnd: initCwnd,
        rate: 0,
        shownCwnd: initCwnd,
        shownRate: 0,
        controlled: false,
      });
      emit('flow_start', { sid: conn.sid, init_cwnd: initCwnd, mss, alg: opts.alg });
    }
    human?.started();

    // ACK clock: ACK n of each flow is due at ackStart + n / rate; ticks process what is due.
    const ackStart = wallUs();
    const endUs = ackStart + Math.round(opts.duration * 1e6);
    const totalAcks = Math.floor(opts.duration * opts.rate);
    const periodUs = opts.rate > 0 ? 1e6 / opts.rate : Infinity;
    const tickMs = Math.max(1, Math.min(10, Math.floor(periodUs / 1000)));
    let done = 0;
    while (!stopping) {
      const now = wallUs();
      const due = now >= endUs ? totalAcks : Math.min(totalAcks, Math.floor((now - ackStart) / periodUs));
      for (; done < due; done++) {
        advance(ackStart + (done + 1) * periodUs);
        const n = done + 1;
        for (const f of flows.values()) ack(f, n);
      }
      human?.tick(now);
      if (now >= endUs && done >= totalAcks) break;
      await sleep(tickMs);
    }

    advance(wallUs());
    for (const sid of [...flows.keys()]) {
      dp.freeConnection(sid);
      emit('flow_close', { sid });
    }
    // Every queued message (the closes included) leaves before the transport closes.
    undelivered = transport.drain ? await transport.drain(opts.drainMs ?? 5000) : 0;
    if (undelivered > 0) {
      diag(
        'warn',
        'undelivered',
        `${undelivered} messages (closes included) were still queued for the agent after ${opts.drainMs ?? 5000} ms and are lost`,
      );
    }
    finished = true;
    emit('summary', {
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
      interrupted: stopping,
      ...(signal !== '' ? { signal } : {}),
    });
    return 0;
  } finally {
    if (watcher !== null) clearInterval(watcher);
    for (const sig of STOP_SIGNALS) process.removeListener(sig, onSignal);
    finished = true;
    limited.close();
    await transport.close();
  }

  function ack(f: FlowState, n: number): void {
    const p = f.conn.prims;
    const lost = opts.lossEvery > 0 && n % opts.lossEvery === 0;
    p.bytesAcked = lost ? 0 : mss;
    p.packetsAcked = lost ? 0 : 1;
    p.packetsMisordered = lost ? 1 : 0;
    p.bytesMisordered = lost ? mss : 0;
    p.lostPktsSample = lost ? 1 : 0;
    const ecn = opts.ecnEvery > 0 && n % opts.ecnEvery === 0;
    p.ecnPackets = ecn ? 1 : 0;
    p.ecnBytes = ecn ? mss : 0;
    p.wasTimeout = opts.timeoutEvery > 0 && n % opts.timeoutEvery === 0;
    const rtt = opts.rttUs + (n % 8) * opts.rttStepUs;
    p.rttSampleUs = rtt;
    p.sndCwnd = f.cwnd;
    p.sndRate = f.rate;
    p.bytesInFlight = f.cwnd;
    p.packetsInFlight = Math.floor(f.cwnd / mss);
    p.bytesPending = 0;
    const r = rtt > 0 ? Math.floor((f.cwnd * 1e6) / rtt) : 0;
    p.rateOutgoing = r;
    p.rateIncoming = r;
    f.acks++;
    stats.acks++;
    const code = dp.invoke(f.conn);
    stats.invokeResults[code] = (stats.invokeResults[code] ?? 0) + 1;
  }
}
