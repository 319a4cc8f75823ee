/**
 * What the dashboard shows, sampled from a running agent at a bounded rate: the overview counters
 * and their rates, a history of the aggregate and of every live flow (ring buffers allocated once
 * per flow), and an event log in which repeated algorithm errors of one flow fold into one entry
 * with a count.
 * @module
 */
import { flowEndpoints, type Agent, type AgentEvent, type FlowView } from '../agent/index.ts';

/** The overview panel. Rates are per second over the last sample interval. */
export interface Overview {
  /** Wall-clock time of the sample, ms since the epoch. */
  time: number;
  uptimeS: number;
  datapaths: number;
  flows: number;
  reportsPerS: number;
  /** Messages the agent sent per second (UPDATE_FIELDS, CHANGE_PROG, INSTALL). */
  updatesPerS: number;
  /** Received messages dropped (malformed, unknown datapath or flow) since start. */
  dropped: number;
  /** Algorithm exceptions and failed sends since start. */
  errors: number;
  reports: number;
}

/** One point of a time series: time (s since the epoch), window, rate, RTT, reports/s. */
export interface Point {
  t: number;
  /** bytes */
  cwnd: number;
  /** bytes/s */
  rate: number;
  /** µs (0: no sample) */
  rtt: number;
  /** reports per second */
  rps: number;
}

/** One row of the flows table. */
export interface FlowRow {
  /** `address#sid`, unique over datapaths. */
  key: string;
  sid: number;
  datapath: string;
  algorithm: string;
  program: string;
  /** `src:port > dst:port` (addresses and ports decoded from network byte order) */
  tuple: string;
  cwnd: number;
  rate: number;
  rttUs: number;
  rps: number;
  /** seconds since the flow was created */
  ageS: number;
}

/** An entry of the event log; `count` > 1 for folded repeats. */
export interface LogEntry {
  id: number;
  /** ms since the epoch */
  time: number;
  kind: AgentEvent['kind'];
  text: string;
  count: number;
}

const HISTORY = 240;

/** The last {@link HISTORY} points of one series: one buffer (five columns) allocated once. */
class Ring {
  /** Columns t, cwnd, rate, rtt, rps, each {@link HISTORY} long. */
  private readonly buf = new Float64Array(5 * HISTORY);
  head = 0;
  len = 0;

  push(t: number, cwnd: number, rate: number, rtt: number, rps: number): void {
    const i = this.head;
    const b = this.buf;
    b[i] = t;
    b[HISTORY + i] = cwnd;
    b[2 * HISTORY + i] = rate;
    b[3 * HISTORY + i] = rtt;
    b[4 * HISTORY + i] = rps;
    this.head = i + 1 === HISTORY ? 0 : i + 1;
    if (this.len < HISTORY) this.len++;
  }

  last(): Point | null {
    if (this.len === 0) return null;
    const i = (this.head + HISTORY - 1) % HISTORY;
    const b = this.buf;
    return {
      t: b[i]!,
      cwnd: b[HISTORY + i]!,
      rate: b[2 * HISTORY + i]!,
      rtt: b[3 * HISTORY + i]!,
      rps: b[4 * HISTORY + i]!,
    };
  }

  /** Columns oldest first: [t, cwnd, rate, rtt, rps]. */
  columns(): number[][] {
    const cols: number[][] = [[], [], [], [], []];
    for (let k = 0; k < this.len; k++) {
      const i = (this.head + HISTORY - this.len + k) % HISTORY;
      for (let c = 0; c < 5; c++) cols[c]!.push(this.buf[c * HISTORY + i]!);
    }
    return cols;
  }
}

interface FlowTrack {
  ring: Ring;
  /** The flow's table row, allocated once and updated in place at each sample. */
  row: FlowRow;
  lastReports: number;
  seen: number;
}

/** A sorted, filtered list of rows, valid for one sample. */
interface RowView {
  epoch: number;
  rows: FlowRow[];
}

/** Sorted views kept per sample (one per distinct sort/filter the open pages ask for). */
const MAX_VIEWS = 8;

const LOG_SIZE = 500;
/** Errors of one flow with the same text within this many ms fold into one entry. */
const FOLD_MS = 10_000;

/** Samples one agent; see the module doc. */
export class Sampler {
  readonly startedAt = Date.now();
  private readonly agent: Agent;
  /** Tracks by datapath address, then sid: found without building a key string per sample. */
  private readonly flows = new Map<string, Map<number, FlowTrack>>();
  private readonly byKey = new Map<string, FlowTrack>();
  /** Every track's row, in creation order (rebuilt only when flows come or go). */
  private allRows: FlowRow[] = [];
  private rowsDirty = false;
  private readonly views = new Map<string, RowView>();
  private readonly aggregate = new Ring();
  private prev = { time: 0, reports: 0, out: 0 };
  private epoch = 0;
  private overviewNow: Overview;
  private readonly log: LogEntry[] = [];
  private nextId = 1;
  /** Entries added or changed since the last {@link takeLog}. */
  private fresh: LogEntry[] = [];
  private readonly lastError = new Map<string, LogEntry>();
  private readonly unsubscribe: () => void;

  constructor(agent: Agent) {
    this.agent = agent;
    this.overviewNow = this.emptyOverview();
    this.unsubscribe = agent.onEvent((e) => this.onEvent(e));
  }

  /** Stop listening to the agent. */
  close(): void {
    this.unsubscribe();
  }

  private emptyOverview(): Overview {
    const s = this.agent.stats();
    return {
      time: Date.now(),
      uptimeS: 0,
      datapaths: s.datapaths,
      flows: s.flows,
      reportsPerS: 0,
      updatesPerS: 0,
      dropped: s.dropped,
      errors: s.errors,
      reports: s.reports,
    };
  }

  /** Take one sample of everything (called by the server's timer). */
  sample(): void {
    const now = Date.now();
    const s = this.agent.stats();
    const dt = this.prev.time === 0 ? 0 : (now - this.prev.time) / 1000;
    const per = (d: number): number => (dt > 0 ? d / dt : 0);
    this.overviewNow = {
      time: now,
      uptimeS: (now - this.startedAt) / 1000,
      datapaths: s.datapaths,
      flows: s.flows,
      reportsPerS: per(s.reports - this.prev.reports),
      updatesPerS: per(s.messagesOut - this.prev.out),
      dropped: s.dropped,
      errors: s.errors,
      reports: s.reports,
    };
    this.prev = { time: now, reports: s.reports, out: s.messagesOut };
    const epoch = ++this.epoch;
    const t = now / 1000;
    let cwnd = 0;
    let rate = 0;
    let rttSum = 0;
    let rttN = 0;
    const agentNow = this.agent.now();
    this.agent.forEachFlow((f) => {
      let dp = this.flows.get(f.address);
      if (dp === undefined) {
        dp = new Map();
        this.flows.set(f.address, dp);
      }
      let tr = dp.get(f.sid);
      if (tr === undefined) {
        tr = this.track(f);
        dp.set(f.sid, tr);
      } else {
        tr.row.rps = per(f.reportCount - tr.lastReports);
        tr.lastReports = f.reportCount;
      }
      tr.seen = epoch;
      const row = tr.row;
      row.algorithm = f.algorithmName;
      row.program = f.programName;
      row.cwnd = f.cwnd;
      row.rate = f.rate;
      row.rttUs = f.lastRttUs;
      row.ageS = Math.max(0, (agentNow - f.createdAt) / 1e6);
      tr.ring.push(t, f.cwnd, f.rate, f.lastRttUs, row.rps);
      cwnd += f.cwnd;
      rate += f.rate;
      if (f.lastRttUs > 0) {
        rttSum += f.lastRttUs;
        rttN++;
      }
    });
    for (const [address, dp] of this.flows) {
      for (const [sid, tr] of dp) {
        if (tr.seen === epoch) continue;
        dp.delete(sid);
        this.byKey.delete(tr.row.key);
        this.rowsDirty = true;
      }
      if (dp.size === 0) this.flows.delete(address);
    }
    this.aggregate.push(t, cwnd, rate, rttN > 0 ? rttSum / rttN : 0, this.overviewNow.reportsPerS);
  }

  private track(f: FlowView): FlowTrack {
    const key = `${f.address}#${f.sid}`;
    const tr: FlowTrack = {
      ring: new Ring(),
      row: {
        key,
        sid: f.sid,
        datapath: f.address,
        algorithm: f.algorithmName,
        program: f.programName,
        tuple: flowEndpoints(f.info),
        cwnd: f.cwnd,
        rate: f.rate,
        rttUs: f.lastRttUs,
        rps: 0,
        ageS: 0,
      },
      lastReports: f.reportCount,
      seen: 0,
    };
    this.byKey.set(key, tr);
    this.rowsDirty = true;
    return tr;
  }

  /** The latest overview. */
  overview(): Overview {
    return this.overviewNow;
  }

  /** The latest aggregate point (sum of windows and rates, mean RTT, total reports/s). */
  aggregatePoint(): Point | null {
    return this.aggregate.last();
  }

  /** The latest point of one flow, if it is live. */
  flowPoint(key: string): Point | null {
    return this.byKey.get(key)?.ring.last() ?? null;
  }

  /** History columns [t, cwnd, rate, rtt, rps] of the aggregate, or of one live flow (null if gone). */
  history(key: string | null): number[][] | null {
    if (key === null) return this.aggregate.columns();
    return this.byKey.get(key)?.ring.columns() ?? null;
  }

  /**
   * Rows of the flows table as of the last sample: filtered, sorted and paged. Each distinct
   * sort and filter is computed at most once per sample, however many pages ask.
   */
  rows(q: RowQuery): { total: number; rows: FlowRow[] } {
    if (this.rowsDirty) {
      this.allRows = [];
      for (const tr of this.byKey.values()) this.allRows.push(tr.row);
      this.rowsDirty = false;
    }
    const filter = q.filter.toLowerCase();
    const id = `${q.sort}\0${q.desc ? 1 : 0}\0${filter}`;
    let view = this.views.get(id);
    if (view === undefined || view.epoch !== this.epoch) {
      const all = filter === '' ? this.allRows.slice() : this.allRows.filter((r) => matches(r, filter));
      all.sort(comparator(q.sort, q.desc));
      if (view === undefined && this.views.size >= MAX_VIEWS) {
        this.views.delete(this.views.keys().next().value!);
      }
      view = { epoch: this.epoch, rows: all };
      this.views.set(id, view);
    }
    const all = view.rows;
    return { total: all.length, rows: all.slice(q.offset, q.offset + q.limit) };
  }

  /** The last entries of the event log, oldest first. */
  events(): LogEntry[] {
    return this.log.slice();
  }

  /** Entries added or updated since the previous call (for pushing), at most `max`. */
  takeLog(max: number): { entries: LogEntry[]; skipped: number } {
    const all = this.fresh;
    this.fresh = [];
    const unique = [...new Set(all)];
    const skipped = Math.max(0, unique.length - max);
    return { entries: unique.slice(skipped), skipped };
  }

  private onEvent(e: AgentEvent): void {
    const time = Date.now();
    if (e.kind === 'error') {
      const key = `${e.address}#${e.sid}#${e.detail}`;
      const prev = this.lastError.get(key);
      if (prev !== undefined && time - prev.time < FOLD_MS) {
        prev.count++;
        prev.time = time;
        this.fresh.push(prev);
        return;
      }
      const entry = this.add(time, e.kind, `flow ${e.sid} (${e.address}): ${e.detail}`);
      this.lastError.set(key, entry);
      if (this.lastError.size > LOG_SIZE) this.lastError.delete(this.lastError.keys().next().value!);
      return;
    }
    let text: string;
    if (e.kind === 'datapath') text = `datapath ${e.address} ${e.detail}`;
    else if (e.kind === 'flow-create')
      text = `flow ${e.sid} (${e.address}) created, algorithm ${e.algorithm}`;
    else if (e.kind === 'flow-close') text = `flow ${e.sid} (${e.address}) closed: ${e.detail}`;
    else text = `flow ${e.sid} (${e.address}) runs program ${e.program} (uid ${e.uid})`;
    this.add(time, e.kind, text);
  }

  private add(time: number, kind: AgentEvent['kind'], text: string): LogEntry {
    const entry: LogEntry = { id: this.nextId++, time, kind, text, count: 1 };
    this.log.push(entry);
    if (this.log.length > LOG_SIZE) this.log.shift();
    this.fresh.push(entry);
    if (this.fresh.length > 4 * LOG_SIZE) this.fresh.splice(0, this.fresh.length - LOG_SIZE);
    return entry;
  }
}

/** A query of the flows table. */
export interface RowQuery {
  filter: string;
  sort: keyof FlowRow;
  desc: boolean;
  offset: number;
  limit: number;
}

/** Order by `k` (ascending or descending), ties by key ascending. */
function comparator(k: keyof FlowRow, desc: boolean): (a: FlowRow, b: FlowRow) => number {
  const dir = desc ? -1 : 1;
  return (a, b) => {
    const x = a[k];
    const y = b[k];
    const c = x < y ? -1 : x > y ? 1 : 0;
    return c !== 0 ? c * dir : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  };
}

function matches(r: FlowRow, filter: string): boolean {
  return (
    String(r.sid).includes(filter) ||
    r.datapath.toLowerCase().includes(filter) ||
    r.algorithm.toLowerCase().includes(filter) ||
    r.program.toLowerCase().includes(filter) ||
    r.tuple.toLowerCase().includes(filter)
  );
}
