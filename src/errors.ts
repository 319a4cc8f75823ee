/**
 * The one registry of Portus errors (modelled on Node.js core's `lib/internal/errors`).
 *
 * Every error the library raises on purpose is a {@link PortusError} carrying a stable `code`
 * from {@link ErrorCodes}. Subclasses add structured detail (a source position, a byte offset).
 * @module
 */

/** Stable error codes. Never renumber or reuse a code; add new ones at the end of a group. */
export const ErrorCodes = {
  /** A datapath program does not compile (syntax, type, limit). See {@link CompileError}. */
  COMPILE: 'ERR_PORTUS_COMPILE',
  /** Bytes that are not a valid CCP message. See {@link WireError}. */
  WIRE: 'ERR_PORTUS_WIRE',
  /** A message the agent refuses to build (too many updates, value out of range...). */
  ENCODE: 'ERR_PORTUS_ENCODE',
  /** Reading a report field that the program does not report (or that the message lacks). */
  REPORT_FIELD: 'ERR_PORTUS_REPORT_FIELD',
  /** Updating a field that cannot be updated (unknown, report, primitive, reserved). */
  UPDATE_FIELD: 'ERR_PORTUS_UPDATE_FIELD',
  /** The datapath's program table cannot hold another program. */
  PROGRAM_TABLE_FULL: 'ERR_PORTUS_PROGRAM_TABLE_FULL',
  /** A program name that the algorithm did not declare. */
  UNKNOWN_PROGRAM: 'ERR_PORTUS_UNKNOWN_PROGRAM',
  /** A transport cannot be opened (no permission, module not loaded, path in use...). */
  IPC_UNAVAILABLE: 'ERR_PORTUS_IPC_UNAVAILABLE',
  /** A message that a transport cannot carry (too long for the char device...). */
  IPC_SEND: 'ERR_PORTUS_IPC_SEND',
  /** A datagram refused (sender's credentials not admitted, no reply address, oversized). */
  IPC_PEER: 'ERR_PORTUS_IPC_PEER',
  /** An algorithm could not be loaded or is not a valid algorithm. */
  ALGORITHM: 'ERR_PORTUS_ALGORITHM',
  /** Invalid input to the datapath machine that libccp would mis-handle (spec-marked defects). */
  DATAPATH: 'ERR_PORTUS_DATAPATH',
  /** Invalid simulator configuration or scenario. */
  SIM_CONFIG: 'ERR_PORTUS_SIM_CONFIG',
  /** Invalid command-line usage. */
  USAGE: 'ERR_PORTUS_USAGE',
  /** The dashboard cannot start (bad or non-loopback address without opt-in, port in use). */
  DASHBOARD: 'ERR_PORTUS_DASHBOARD',
  /** Invalid sweep spec (`portus sweep`): shape, axis values, or a cell the simulator rejects. */
  SWEEP_SPEC: 'ERR_PORTUS_SWEEP_SPEC',
  /** The sweep's job queue (Redis) cannot be reached or used. */
  SWEEP_QUEUE: 'ERR_PORTUS_SWEEP_QUEUE',
  /** An argument of the wrong type to a public function (e.g. a program source that is not a string). */
  INVALID_ARG: 'ERR_PORTUS_INVALID_ARG',
  /**
   * Reading a report that can no longer be read: it crossed a program switch (a report of the
   * flow's previous program), or its `onReport` call has returned.
   */
  STALE_REPORT: 'ERR_PORTUS_STALE_REPORT',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Base class of every error Portus raises on purpose. */
export class PortusError extends Error {
  /** Stable, documented error code. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'PortusError';
  }
}

/** A source position: 1-based line and column, 0-based character offset. */
export interface SourcePos {
  line: number;
  column: number;
  offset: number;
}

/**
 * A datapath program that does not compile. `message` is the bare reason; {@link format}
 * renders `file:line:col: message` with a caret excerpt of the source line.
 */
export class CompileError extends PortusError {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  /** The full program text, for excerpts. */
  readonly source: string;
  /** The bare reason, without position. */
  readonly reason: string;

  constructor(reason: string, source: string, pos: SourcePos) {
    super(ErrorCodes.COMPILE, `${pos.line}:${pos.column}: ${reason}`);
    this.name = 'CompileError';
    this.reason = reason;
    this.source = source;
    this.line = pos.line;
    this.column = pos.column;
    this.offset = pos.offset;
  }

  /** `file:line:col: reason`, then the source line and a caret under the column. */
  format(file = '<program>'): string {
    const lines = this.source.split('\n');
    const text = (lines[this.line - 1] ?? '').replace(/\r$/, '');
    const caret = ' '.repeat(Math.max(0, this.column - 1)) + '^';
    return `${file}:${this.line}:${this.column}: error: ${this.reason}\n  ${text}\n  ${caret}`;
  }
}

/** Bytes that do not decode to a valid CCP message. `offset` is where decoding failed. */
export class WireError extends PortusError {
  readonly offset: number;
  /** Short machine-readable kind: 'truncated', 'bad-length', 'unknown-type', 'too-many-fields', ... */
  readonly kind: string;

  constructor(kind: string, message: string, offset: number) {
    super(ErrorCodes.WIRE, `${message} (at byte ${offset})`);
    this.name = 'WireError';
    this.kind = kind;
    this.offset = offset;
  }
}

/** True for any error Portus raised on purpose. */
export function isPortusError(e: unknown): e is PortusError {
  return e instanceof PortusError;
}
