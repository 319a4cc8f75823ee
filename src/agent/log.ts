/**
 * Logging for the agent: a four-level {@link Logger} interface and a default implementation that
 * writes one timestamped line per entry to stderr.
 * @module
 */

/** Where the agent writes its log lines. Each method receives one complete line (no newline). */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Log levels in increasing severity. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * A logger writing `2026-01-01T00:00:00.000Z LEVEL message` lines to `write` (default: stderr).
 * Entries below `level` are dropped.
 */
export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Logger {
  const min = RANK[level];
  const emit = (lv: LogLevel, msg: string): void => {
    if (RANK[lv] < min) return;
    write(`${new Date().toISOString()} ${lv.toUpperCase().padEnd(5)} ${msg}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}

/** A logger that discards everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Lines of one kind written in full per interval before suppression starts (default 3). */
  burst?: number | undefined;
  /** Length of the interval in milliseconds (default 10 000). */
  intervalMs?: number | undefined;
  /** Distinct kinds tracked at once; further kinds share one bucket (default 256). */
  maxKeys?: number;
  /** Millisecond clock (default `Date.now`); tests pass a fake one and call {@link RateLimiter.flush}. */
  now?: () => number;
  /** Write summaries from a timer at the end of each interval (default true; unref'd). */
  timer?: boolean;
}

interface Bucket {
  start: number;
  shown: number;
  suppressed: number;
  level: LogLevel;
  last: string;
}

/** Bucket shared by kinds beyond `maxKeys` (a peer inventing kinds cannot grow the table). */
const OTHER = '(other)';

/**
 * Rate-limited logging: per kind of message (a key such as `send:/tmp/ccp/dp-1`), the first
 * `burst` lines of an interval are written in full; later ones are counted, and one summary line
 * per interval says how many were suppressed and repeats the last. A hostile or broken peer then
 * costs a few lines per interval instead of one per message.
 */
export class RateLimiter {
  private readonly log: Logger;
  private readonly burst: number;
  private readonly intervalMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private readonly useTimer: boolean;
  private readonly buckets = new Map<string, Bucket>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(log: Logger, opts: RateLimiterOptions = {}) {
    this.log = log;
    this.burst = opts.burst ?? 3;
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.maxKeys = opts.maxKeys ?? 256;
    this.now = opts.now ?? Date.now;
    this.useTimer = opts.timer ?? true;
  }

  /** Log `msg` at `level` as a message of kind `key`, unless this kind is over its burst. */
  write(level: LogLevel, key: string, msg: string): void {
    const t = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        key = OTHER;
        b = this.buckets.get(key);
      }
      if (b === undefined) {
        b = { start: t, shown: 0, suppressed: 0, level, last: '' };
        this.buckets.set(key, b);
      }
    }
    if (t - b.start >= this.intervalMs) this.endInterval(key, b, t);
    if (b.shown < this.burst) {
      b.shown++;
      emit(this.log, level, msg);
      return;
    }
    b.suppressed++;
    b.level = level;
    b.last = msg;
    this.arm();
  }

  /** Shorthands for {@link write}. */
  warn(key: string, msg: string): void {
    this.write('warn', key, msg);
  }
  error(key: string, msg: string): void {
    this.write('error', key, msg);
  }
  info(key: string, msg: string): void {
    this.write('info', key, msg);
  }

  /** Messages currently counted but not yet summarised (all kinds). */
  get pending(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.suppressed;
    return n;
  }

  /**
   * Write the summary of every kind whose interval has ended (all kinds with `force`), and forget
   * kinds that were quiet for a whole interval.
   */
  flush(force = false): void {
    const t = this.now();
    for (const [key, b] of this.buckets) {
      if (force || t - b.start >= this.intervalMs) this.endInterval(key, b, t);
      if (b.shown === 0 && b.suppressed === 0) this.buckets.delete(key);
    }
  }

  /** Write every pending summary and stop the timer (at shutdown). */
  close(): void {
    this.flush(true);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private endInterval(key: string, b: Bucket, t: number): void {
    if (b.suppressed > 0) {
      const secs = Math.max(1, Math.round((t - b.start) / 1000));
      emit(
        this.log,
        b.level,
        `${b.last} [${b.suppressed} more like this (${key}) suppressed in the last ${secs} s]`,
      );
    }
    b.start = t;
    b.shown = 0;
    b.suppressed = 0;
  }

  private arm(): void {
    if (!this.useTimer || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
      if (this.pending > 0) this.arm();
    }, this.intervalMs);
    this.timer.unref?.();
  }
}

/**
 * Exceptions thrown by algorithm code: the first one's stack trace in full, then one line per
 * interval with how often each flow threw and the last message. `flow` keys are bounded like the
 * {@link RateLimiter}'s kinds.
 */
export class ExceptionTally {
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private readonly useTimer: boolean;
  private shownFirst = false;
  private start = 0;
  private total = 0;
  private last = '';
  private readonly perFlow = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(log: Logger, opts: RateLimiterOptions = {}) {
    this.log = log;
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.maxKeys = opts.maxKeys ?? 256;
    this.now = opts.now ?? Date.now;
    this.useTimer = opts.timer ?? true;
  }

  /**
   * Record an exception from `flow` (e.g. `flow 3 (/tmp/ccp/dp)`). `what` says where it was thrown
   * (`onReport threw`); `full` is the full text (stack) and `short` its first line.
   */
  record(flow: string, what: string, full: string, short: string): void {
    if (!this.shownFirst) {
      this.shownFirst = true;
      this.start = this.now();
      this.log.error(`${flow}: ${what}: ${full}`);
      this.log.error(
        'further exceptions from algorithm code are counted per flow and summarised every ' +
          `${Math.round(this.intervalMs / 1000)} s`,
      );
      return;
    }
    if (this.total === 0) this.start = this.now();
    this.total++;
    this.last = `${what}: ${short}`;
    let k = flow;
    if (!this.perFlow.has(k) && this.perFlow.size >= this.maxKeys) k = OTHER;
    this.perFlow.set(k, (this.perFlow.get(k) ?? 0) + 1);
    if (this.now() - this.start >= this.intervalMs) this.flush();
    else this.arm();
  }

  /** Write the summary line now, if anything was counted. */
  flush(): void {
    if (this.total === 0) return;
    const top = [...this.perFlow].sort((a, b) => b[1] - a[1]);
    const shown = top
      .slice(0, 5)
      .map(([f, n]) => `${f}: ${n}`)
      .join(', ');
    const more = top.length > 5 ? `, and ${top.length - 5} more flows` : '';
    const secs = Math.max(1, Math.round((this.now() - this.start) / 1000));
    this.log.error(
      `algorithm code threw ${this.total} more times in the last ${secs} s (${shown}${more}); last: ${this.last}`,
    );
    this.total = 0;
    this.perFlow.clear();
  }

  /** Flush and stop the timer. */
  close(): void {
    this.flush();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (!this.useTimer || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.intervalMs);
    this.timer.unref?.();
  }
}

function emit(log: Logger, level: LogLevel, msg: string): void {
  log[level](msg);
}

/** Levels accepted by {@link parseLogLevel}: the four levels and `silent`. */
export const LOG_LEVELS: readonly (LogLevel | 'silent')[] = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * The log level from a command-line value, else the `PORTUS_LOG` environment variable, else
 * `fallback`. Returns null for an unknown name (the caller reports a usage error).
 */
export function parseLogLevel(
  flag: string | undefined,
  fallback: LogLevel | 'silent',
  env: string | undefined = process.env.PORTUS_LOG,
): LogLevel | 'silent' | null {
  const v = (flag ?? env ?? '').trim().toLowerCase();
  if (v === '') return fallback;
  return (LOG_LEVELS as readonly string[]).includes(v) ? (v as LogLevel | 'silent') : null;
}
