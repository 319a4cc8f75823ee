/**
 * `portus datapath`: run the libccp-compatible datapath machine as a standalone process over a unix
 * datagram socket, against an agent, with synthetic ACKs.
 *
 * It binds its own socket, sends READY to the agent, waits for the agent's INSTALL_EXPR messages,
 * starts `--flows` flows (one CREATE each) and feeds each flow `--rate` ACKs per second for
 * `--duration` seconds, then closes the flows (the agent sees them close). Every event is one JSON
 * line on stdout; the last one is a `summary`. Diagnostics go to stderr.
 * @module
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { ipv4ToRaw, portToRaw } from '../agent/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import { createDatapath, type Connection, type Datapath, type LogLevel } from '../datapath/index.ts';
import { openUnix, type Transport } from '../ipc/index.ts';

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
  logLevel: LogLevel | 'none';
}

const LEVELS: Array<LogLevel | 'none'> = ['trace', 'debug', 'info', 'warn', 'error', 'none'];

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
      'how long to wait for the first INSTALL before starting flows anyway',
      intArg('--wait-ms', 0),
      5000,
    )
    .option(
      '--fto-us <us>',
      'fallback timeout in µs (libccp fto_us; ccp-kernel uses 1000)',
      intArg('--fto-us', 1),
      1000,
    )
    .option('--id <n>', 'datapath id sent in READY', intArg('--id', 0, 0xffffffff), 0)
    .addOption(
      new Option('--log-level <level>', 'datapath log messages written to stderr')
        .choices(LEVELS)
        .default('warn'),
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

Output: one JSON line per event on stdout, e.g.
  {"t_us":1234,"ev":"set_cwnd","sid":1,"cwnd":15928}
events: ready, recv (messages from the agent, with the libccp result code), flow_start,
set_cwnd / set_rate (when the value changes), flow_close, and a final summary.`,
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
}

/**
 * Run the standalone datapath until `duration` has elapsed (or SIGINT/SIGTERM). Resolves to the exit
 * code. Writes JSON lines through `out` (default: stdout).
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
  const start = performance.now();
  // Datapath clock in µs (never 0: libccp treats a 0 timestamp as "never").
  let clock = 1;
  const wallUs = (): number => Math.floor((performance.now() - start) * 1000) + 1;
  const advance = (t: number): number => (clock = Math.max(clock, Math.floor(t)));
  const emit = (ev: string, fields: Record<string, unknown> = {}): void => {
    out(JSON.stringify({ t_us: clock, ev, ...fields }));
  };
  const minLevel = LEVELS.indexOf(opts.logLevel);

  const transport: Transport = await openUnix({ path: socketPath, peer: opts.agent });
  transport.onError?.((err) => process.stderr.write(`portus datapath: ${err.message}\n`));
  const flows = new Map<number, FlowState>();
  const stats = {
    acks: 0,
    reports: 0,
    messagesReceived: 0,
    sendFailures: 0,
    setCwndCalls: 0,
    setRateCalls: 0,
    invokeResults: {} as Record<string, number>,
  };
  let installs = 0;
  let lastInstallAt = 0;

  const dp: Datapath = createDatapath({
    id: opts.id,
    ftoUs: opts.ftoUs,
    now: () => clock,
    send(msg) {
      if (msg[0] === 1 && msg.readUInt32LE(8) !== 0) stats.reports++;
      try {
        transport.send(msg, opts.agent);
        return 0;
      } catch (e) {
        stats.sendFailures++;
        if (minLevel <= LEVELS.indexOf('warn')) {
          process.stderr.write(`portus datapath: send failed: ${(e as Error).message}\n`);
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
    log(level, msg) {
      if (LEVELS.indexOf(level) >= minLevel) process.stderr.write(`portus datapath [${level}] ${msg}\n`);
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
      fields.sid = buf.readUInt16LE(4);
      if (type === 4 && buf.length >= 12) fields.uid = buf.readUInt32LE(8);
    }
    emit('recv', fields);
  });

  let stopping = false;
  const onSignal = (): void => {
    stopping = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  try {
    advance(wallUs());
    const initCode = dp.init();
    if (initCode !== 0) throw new PortusError(ErrorCodes.USAGE, `datapath init failed (${initCode})`);
    emit('ready', { id: opts.id, socket: socketPath, agent: opts.agent });

    // Wait for the agent's INSTALLs: the first one, then until none arrived for 100 ms.
    const waitStart = wallUs();
    while (!stopping) {
      const now = wallUs();
      if (installs === 0 && now - waitStart >= opts.waitMs * 1000) {
        emit('no_install', { waited_ms: opts.waitMs });
        break;
      }
      if (installs > 0 && now - lastInstallAt >= 100_000) break;
      await sleep(5);
    }

    advance(wallUs());
    for (let i = 0; i < opts.flows; i++) {
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
      flows.set(conn.sid, { conn, acks: 0, cwnd: initCwnd, rate: 0, shownCwnd: initCwnd, shownRate: 0 });
      emit('flow_start', { sid: conn.sid, init_cwnd: initCwnd, mss, alg: opts.alg });
    }

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
      if (now >= endUs && done >= totalAcks) break;
      await sleep(tickMs);
    }

    advance(wallUs());
    for (const sid of [...flows.keys()]) {
      dp.freeConnection(sid);
      emit('flow_close', { sid });
    }
    // let the close messages leave and late agent messages arrive, then summarize
    await sleep(20);
    finished = true;
    emit('summary', {
      flows: flows.size,
      acks: stats.acks,
      reports: stats.reports,
      messages_received: stats.messagesReceived,
      send_failures: stats.sendFailures,
      set_cwnd_calls: stats.setCwndCalls,
      set_rate_calls: stats.setRateCalls,
      invoke_results: stats.invokeResults,
      final: [...flows.values()].map((f) => ({ sid: f.conn.sid, cwnd: f.cwnd, rate: f.rate, acks: f.acks })),
      interrupted: stopping,
    });
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    finished = true;
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
