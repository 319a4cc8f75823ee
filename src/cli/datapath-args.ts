/**
 * `portus datapath` arguments: the command's options and help, their parsing and validation.
 * @module
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { ErrorCodes, PortusError } from '../errors.ts';
import type { LogLevel } from '../datapath/index.ts';

/** Options of `portus datapath` (the command's flags). */
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

/** The log levels `--log-level` accepts, quietest last. */
export const LEVELS: Array<LogLevel | 'none'> = ['trace', 'debug', 'info', 'warn', 'error', 'none'];

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

/** The `portus datapath` command's description, options and help (its action is set by the caller). */
export function datapathCommand(program: Command): Command {
  return program
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
    );
}
