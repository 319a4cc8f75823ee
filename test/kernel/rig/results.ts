/**
 * Parsers for what the VM leaves in the results share: the agent's `--debug` log, `ss -tinH`
 * samples, iperf3 `-J` output and `tc -s qdisc` counters. Pure functions, unit-tested in
 * test/kernel/results.test.ts.
 * @module
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One CREATE as the agent logged it. */
export interface Created {
  /** Index in `AgentLog.created`: a flow's key (the kernel reuses sids once flows close). */
  id: number;
  t: number;
  sid: number;
  mss: number;
  initCwnd: number;
  /** Local (source) port, converted from the network byte order the kernel sends. */
  srcPort: number;
  dstPort: number;
}

/** A value the agent sent for one register of one flow. */
export interface Sent {
  t: number;
  sid: number;
  value: number;
}

/** One register update the agent sent: `reg` is `"type,index"` as the log prints it. */
export interface Update extends Sent {
  reg: string;
}

/** One report (MEASURE with fields) as the agent logged it. */
export interface Measure {
  t: number;
  uid: number;
  fields: number[];
}

/** What one agent run did, per flow (keyed by `Created.id`). */
export interface AgentLog {
  created: Created[];
  /** MEASURE messages with fields, per flow. */
  reports: Map<number, number>;
  /** Cwnd values sent (UPDATE_FIELDS or CHANGE_PROG), in order, per flow. */
  cwnd: Map<number, Sent[]>;
  rate: Map<number, Sent[]>;
  /** Every register update sent (UPDATE_FIELDS or CHANGE_PROG), in order, per flow. */
  updates: Map<number, Update[]>;
  /** The fields of every MEASURE with fields, in order, per flow. */
  measures: Map<number, Measure[]>;
  /** Every Cwnd/Rate message per sid, whichever flow held it (or none). */
  sentToSid: Map<number, number>;
  /** Flows the datapath closed (zero-field MEASURE). */
  closed: Set<number>;
  /** When the datapath's close of each closed flow arrived (agent log time). */
  closedAt: Map<number, number>;
  /** Sids of MEASUREs the agent ignored as unknown flows. */
  unknown: Map<number, number>;
  /** Lines at WARN or ERROR level. */
  problems: string[];
  /** All lines, for extra checks (e.g. a user algorithm's own output). */
  lines: string[];
}

/** `(2,4)` is the implicit Cwnd register, `(2,5)` the implicit Rate register (wire/types.ts). */
const CWND_REG = '2,4';
const RATE_REG = '2,5';

/** A u16 port the kernel sent in network byte order, read back as a host-order number. */
export function portFromWire(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

/** Parse a `portus run --debug` log. */
export function parseAgentLog(text: string): AgentLog {
  const out: AgentLog = {
    created: [],
    reports: new Map(),
    cwnd: new Map(),
    rate: new Map(),
    updates: new Map(),
    measures: new Map(),
    sentToSid: new Map(),
    closed: new Set(),
    closedAt: new Map(),
    unknown: new Map(),
    problems: [],
    lines: text.split('\n'),
  };
  const live = new Map<number, number>(); // sid -> id of the flow holding it
  for (const line of out.lines) {
    const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const t = Date.parse(m[1]) / 1000;
    const [, , level, msg] = m;
    if (level === 'WARN' || level === 'ERROR') out.problems.push(line);
    let x: RegExpExecArray | null;
    if ((x = /<- \S+ CREATE sid=(\d+) initCwnd=(\d+) mss=(\d+) src=\d+:(\d+) dst=\d+:(\d+)/.exec(msg))) {
      live.set(Number(x[1]), out.created.length);
      out.created.push({
        id: out.created.length,
        t,
        sid: Number(x[1]),
        initCwnd: Number(x[2]),
        mss: Number(x[3]),
        srcPort: portFromWire(Number(x[4])),
        dstPort: portFromWire(Number(x[5])),
      });
    } else if ((x = /<- \S+ MEASURE sid=(\d+) uid=(\d+) nf=(\d+)(?: fields=\[([^\]]*)\])?/.exec(msg))) {
      const id = live.get(Number(x[1]));
      if (Number(x[3]) > 0 && id !== undefined) {
        out.reports.set(id, (out.reports.get(id) ?? 0) + 1);
        const fields = (x[4] ?? '')
          .split(' ')
          .filter((v) => v !== '')
          .map(Number);
        push(out.measures, id, { t, uid: Number(x[2]), fields });
      }
    } else if ((x = /-> \S+ (?:UPDATE_FIELDS|CHANGE_PROG) sid=(\d+) .*\[(.*)\]/.exec(msg))) {
      const sid = Number(x[1]);
      const id = live.get(sid);
      out.sentToSid.set(sid, (out.sentToSid.get(sid) ?? 0) + 1);
      for (const u of x[2].matchAll(/\((\d+,\d+)\)=(\d+)/g)) {
        if (id === undefined) continue;
        push(out.updates, id, { t, sid, reg: u[1], value: Number(u[2]) });
        if (u[1] === CWND_REG) push(out.cwnd, id, { t, sid, value: Number(u[2]) });
        if (u[1] === RATE_REG) push(out.rate, id, { t, sid, value: Number(u[2]) });
      }
    } else if ((x = /flow (\d+) \(\S+\) closed by the (datapath|agent)/.exec(msg))) {
      const id = live.get(Number(x[1]));
      live.delete(Number(x[1]));
      if (id !== undefined && x[2] === 'datapath') {
        out.closed.add(id);
        out.closedAt.set(id, t);
      }
    } else if ((x = /ignoring MEASURE for unknown flow (\d+)/.exec(msg))) {
      const sid = Number(x[1]);
      out.unknown.set(sid, (out.unknown.get(sid) ?? 0) + 1);
    }
  }
  return out;
}

/** One `ss -tin` sample of one socket. */
export interface SsSample {
  t: number;
  localPort: number;
  peerPort: number;
  cc: string;
  cwnd: number;
  mss: number;
  /** Bits per second as ss printed it (rounded to ss's precision), NaN if absent. */
  pacingRate: number;
  rttMs: number;
  bytesAcked: number;
}

function bps(s: string): number {
  const m = /^([\d.]+)([KMG]?)bps$/.exec(s);
  if (!m) return NaN;
  const k = { '': 1, K: 1e3, M: 1e6, G: 1e9 }[m[2] as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * k;
}

/** Parse the sampler's output: `@ <epoch>` lines, each followed by `ss -tinH` output. */
export function parseSs(text: string): SsSample[] {
  const out: SsSample[] = [];
  let t = NaN;
  let ports: [number, number] | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('@ ')) {
      t = Number(line.slice(2));
      continue;
    }
    const addr = /\S+:(\d+)\s+\S+:(\d+)\s*$/.exec(line);
    if (addr && !/cwnd:/.test(line)) {
      ports = [Number(addr[1]), Number(addr[2])];
      continue;
    }
    if (!ports || !/cwnd:/.test(line)) continue;
    const num = (re: RegExp): number => {
      const m = re.exec(line);
      return m ? Number(m[1]) : NaN;
    };
    const cc = /^\s*(\w+)\s/.exec(line);
    const pr = /pacing_rate (\S+)/.exec(line);
    out.push({
      t,
      localPort: ports[0],
      peerPort: ports[1],
      cc: cc ? cc[1] : '',
      cwnd: num(/\bcwnd:(\d+)/),
      mss: num(/\bmss:(\d+)/),
      pacingRate: pr ? bps(pr[1]) : NaN,
      rttMs: num(/\brtt:([\d.]+)\//),
      bytesAcked: num(/\bbytes_acked:(\d+)/),
    });
    ports = null;
  }
  return out;
}

/**
 * Parse the dense sampler's output (`@ <epoch>` lines, then `LOCAL REMOTE STATE SND_CWND` in
 * /proc/net/tcp's hex notation): established sockets only; cc, mss and rates are unknown (NaN).
 */
export function parseProcTcp(text: string): SsSample[] {
  const out: SsSample[] = [];
  let t = NaN;
  for (const line of text.split('\n')) {
    if (line.startsWith('@ ')) {
      t = Number(line.slice(2));
      continue;
    }
    const m = /^[0-9A-F]{8}:([0-9A-F]{4}) [0-9A-F]{8}:([0-9A-F]{4}) 01 (\d+)$/.exec(line.trim());
    if (!m) continue;
    out.push({
      t,
      localPort: parseInt(m[1], 16),
      peerPort: parseInt(m[2], 16),
      cc: '',
      cwnd: Number(m[3]),
      mss: NaN,
      pacingRate: NaN,
      rttMs: NaN,
      bytesAcked: NaN,
    });
  }
  return out;
}

/** The iperf3 `-J` summary the checks use. */
export interface IperfResult {
  localPort: number;
  /** Receiver goodput, bits/s (omitted seconds excluded). */
  receivedBps: number;
  retransmits: number;
  seconds: number;
  /** Per-interval sender throughput (bits/s). */
  intervalsBps: number[];
  error?: string | undefined;
}

interface IperfJson {
  error?: string;
  start?: { connected?: { local_port: number }[] };
  intervals?: { sum: { bits_per_second: number; omitted?: boolean } }[];
  end?: {
    sum_received?: { bits_per_second: number; seconds: number };
    sum_sent?: { retransmits?: number };
  };
}

/** Parse iperf3 `-J` output. */
export function parseIperf(text: string): IperfResult {
  let j: IperfJson;
  try {
    j = JSON.parse(text) as IperfJson;
  } catch {
    return { localPort: 0, receivedBps: 0, retransmits: 0, seconds: 0, intervalsBps: [], error: 'no JSON' };
  }
  return {
    localPort: j.start?.connected?.[0]?.local_port ?? 0,
    receivedBps: j.end?.sum_received?.bits_per_second ?? 0,
    retransmits: j.end?.sum_sent?.retransmits ?? 0,
    seconds: j.end?.sum_received?.seconds ?? 0,
    intervalsBps: (j.intervals ?? []).filter((i) => !i.sum.omitted).map((i) => i.sum.bits_per_second),
    error: j.error,
  };
}

/** Packets dropped by each qdisc in `tc -s qdisc show` output, summed. */
export function tcDrops(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/dropped (\d+)/g)) n += Number(m[1]);
  return n;
}

/** One flow's files. */
export interface FlowResult {
  name: string;
  iperf: IperfResult;
  /** `ss -tin` samples (sparse, complete). */
  ss: SsSample[];
  /** /proc/net/tcp samples (dense, cwnd only). */
  proc: SsSample[];
  /** Drops at the bottleneck during the flow. */
  drops: number;
  start: number;
  end: number;
}

/** Everything one scenario left in its directory. */
export interface ScenarioResult {
  name: string;
  dir: string;
  /** Exit status of the scenario's script in the VM (-1 if it never finished). */
  status: number;
  agents: Map<string, AgentLog>;
  flows: Map<string, FlowResult>;
  dmesg: string;
}

function read(p: string): string {
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

/** Load one scenario's results directory. */
export function loadScenario(dir: string, name: string): ScenarioResult {
  const d = join(dir, name);
  const files = existsSync(d) ? readdirSync(d) : [];
  const agents = new Map<string, AgentLog>();
  const flows = new Map<string, FlowResult>();
  for (const f of files) {
    if (f.endsWith('.log')) agents.set(f.slice(0, -4), parseAgentLog(read(join(d, f))));
    if (f.endsWith('.json')) {
      const n = f.slice(0, -5);
      const times = read(join(d, `${n}.times`));
      const time = (k: string): number => Number(new RegExp(`${k} ([\\d.]+)`).exec(times)?.[1] ?? NaN);
      flows.set(n, {
        name: n,
        iperf: parseIperf(read(join(d, f))),
        ss: parseSs(read(join(d, `${n}.ss`))),
        proc: parseProcTcp(read(join(d, `${n}.proc`))),
        drops: tcDrops(read(join(d, `${n}.tc`))) - tcDrops(read(join(d, `${n}.tc-before`))),
        start: time('start'),
        end: time('end'),
      });
    }
  }
  const status = read(join(d, 'status')).trim();
  return {
    name,
    dir: d,
    status: status === '' ? -1 : Number(status),
    agents,
    flows,
    dmesg: read(join(d, 'dmesg')),
  };
}
