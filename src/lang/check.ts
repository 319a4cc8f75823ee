/**
 * Every error of a program, not just the first (`portus check`): the compiler stops at its first
 * error, so after each one the top-level form holding it is blanked out (replaced by spaces, so
 * every later offset, line and column stays the same) and the program is compiled again. This is
 * recovery at the next top-level form, as the issue asks; an error inside `(def ...)` ends the
 * search, since every `when` clause depends on the declarations.
 * @module
 */
import { CompileError } from '../errors.ts';
import { compile, type CompileOptions, type Program } from './index.ts';
import { positionOf } from './source.ts';

/** The outcome of {@link checkProgram}. */
export interface CheckResult {
  /** The compiled program when there was no error. */
  program: Program | null;
  /** Every error found, in source order, positioned in (and excerpting) the original source. */
  errors: CompileError[];
}

interface Form {
  start: number;
  /** Offset after the closing `)` (the end of the text for an unclosed form). */
  end: number;
}

/** The top-level `( ... )` forms of `source`, skipping `#` comments. */
export function topLevelForms(source: string): Form[] {
  const forms: Form[] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 35 /* # */) {
      while (i < source.length && source.charCodeAt(i) !== 10) i++;
    } else if (c === 40 /* ( */) {
      if (depth === 0) start = i;
      depth++;
    } else if (c === 41 /* ) */ && depth > 0) {
      depth--;
      if (depth === 0) forms.push({ start, end: i + 1 });
    }
  }
  if (depth > 0) forms.push({ start, end: source.length });
  return forms;
}

function blank(s: string, from: number, to: number): string {
  return s.slice(0, from) + s.slice(from, to).replace(/[^\n]/g, ' ') + s.slice(to);
}

/** Compile `source`, collecting every error (one per top-level form at most). */
export function checkProgram(source: string, options?: CompileOptions): CheckResult {
  const forms = topLevelForms(source);
  const errors: CompileError[] = [];
  let text = source;
  for (let round = 0; round <= forms.length + 1; round++) {
    let p: Program;
    try {
      p = compile(text, options);
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      // after blanking, "no when clause left" is a consequence of our blanking, not an error
      if (errors.length > 0 && /at least one `\(when/.test(e.reason)) break;
      errors.push(new CompileError(e.reason, source, positionOf(source, e.offset)));
      const i = forms.findIndex((f) => e.offset >= f.start && e.offset < f.end);
      if (i === 0 || (i < 0 && e.offset >= source.length)) break; // in (def ...), or at the very end
      if (i > 0) {
        text = blank(text, forms[i]!.start, forms[i]!.end);
      } else {
        // stray text between forms: skip to the next form
        const next = forms.find((f) => f.start > e.offset);
        text = blank(text, e.offset, next === undefined ? source.length : next.start);
      }
      continue;
    }
    return { program: errors.length === 0 ? p : null, errors: errors.sort((a, b) => a.offset - b.offset) };
  }
  return { program: null, errors: errors.sort((a, b) => a.offset - b.offset) };
}
