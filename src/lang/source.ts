/**
 * Source positions and the single place compile errors are raised.
 *
 * The compiler keeps positions as 0-based character offsets while it works (cheap) and turns
 * them into 1-based line and column only when it reports something.
 * @module
 */
import { CompileError, ErrorCodes, PortusError } from '../errors.ts';
import type { SourcePos } from '../errors.ts';
import { Limits } from './limits.ts';

/**
 * Check a program source before anything else looks at it: a string (else PortusError
 * INVALID_ARG), at most {@link Limits.SOURCE_BYTES} UTF-8 bytes (else a CompileError at 1:1 that
 * does not keep the text), and without a leading UTF-8 byte-order mark (removed, as editors do not
 * count it in columns). Returns the text to compile.
 */
export function checkSource(source: unknown): string {
  if (typeof source !== 'string') {
    const what = source === null ? 'null' : Array.isArray(source) ? 'an array' : typeof source;
    throw new PortusError(ErrorCodes.INVALID_ARG, `a datapath program must be a string, got ${what}`);
  }
  const max = Limits.SOURCE_BYTES;
  if (source.length > max || (source.length > max / 3 && Buffer.byteLength(source) > max)) {
    throw new CompileError(
      `program is larger than ${max} bytes (the compiler's input limit; datapath programs are a few hundred bytes)`,
      '',
      { line: 1, column: 1, offset: 0 },
    );
  }
  return source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
}

/** 1-based line and column of `offset` in `source` (lines end at LF). */
export function positionOf(source: string, offset: number): SourcePos {
  const end = Math.max(0, Math.min(offset, source.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < end; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1, offset: end };
}

/** Throw a {@link CompileError} for `reason` at character `offset` of `source`. */
export function raise(source: string, offset: number, reason: string): never {
  throw new CompileError(reason, source, positionOf(source, offset));
}

/** `line:col: text` — how warnings are worded. */
export function located(source: string, offset: number, text: string): string {
  const p = positionOf(source, offset);
  return `${p.line}:${p.column}: ${text}`;
}

/** A short, printable excerpt of the token starting at `offset` (for messages). */
export function tokenAt(source: string, offset: number): string {
  let end = offset;
  while (end < source.length && end - offset < 24) {
    const c = source.charCodeAt(end);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 40 || c === 41) break;
    end++;
  }
  if (end === offset) {
    if (offset >= source.length) return 'end of program';
    return '`' + printable(source[offset]!) + '`';
  }
  return '`' + printable(source.slice(offset, end)) + '`';
}

function printable(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    out += c < 32 || c === 127 ? `\\u${c.toString(16).padStart(4, '0')}` : ch;
  }
  return out;
}
