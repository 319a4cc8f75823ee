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
