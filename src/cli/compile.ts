/**
 * `portus compile FILE [--format text|hex|json] [--uid N]` and `portus check FILE...`.
 *
 * - text (default): the disassembly, with variable names;
 * - hex: the complete INSTALL_EXPR message (header included, socket id 0, program uid 1 unless
 *   `--uid`) as one line of lowercase hex;
 * - json: `{ uid, instructions, events, scope, installHex, warnings }`.
 *
 * A program that does not compile prints the formatted error (`file:line:col: error: ...` with a
 * caret excerpt) on stderr and exits with code 1. Warnings go to stderr and do not fail.
 * `FILE` may be `-` for standard input.
 * @module
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { CompileError, ErrorCodes, PortusError } from '../errors.ts';
import { Limits, checkProgram, compile, disassemble } from '../lang/index.ts';
import type { Program } from '../lang/index.ts';
import { encodeInstall } from '../wire/index.ts';

/**
 * Read a program file (`-`: stdin), at most {@link Limits.SOURCE_BYTES} bytes: a bigger file (or
 * an endless one such as /dev/zero) is refused after reading one byte past the limit.
 */
function readProgram(file: string): string {
  const max = Limits.SOURCE_BYTES;
  let fd = 0;
  try {
    if (file !== '-') fd = openSync(file, 'r');
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    while (n < buf.length) {
      let got: number;
      try {
        got = readSync(fd, buf, n, buf.length - n, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue; // non-blocking stdin
        throw e;
      }
      if (got === 0) break;
      n += got;
    }
    if (n > max) {
      throw new PortusError(
        ErrorCodes.USAGE,
        `cannot read ${file}: larger than ${max} bytes (not a datapath program?)`,
      );
    }
    return buf.toString('utf8', 0, n);
  } catch (e) {
    if (e instanceof PortusError) throw e;
    const why = e instanceof Error && 'code' in e ? String((e as NodeJS.ErrnoException).code) : String(e);
    throw new PortusError(ErrorCodes.USAGE, `cannot read ${file}: ${why}`);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

function parseUid(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 0xffff_ffff) {
    throw new InvalidArgumentError('the program uid must be an integer in 1 … 4294967295');
  }
  return n;
}

/** `file:line:col: warning: text` for each of the program's warnings (`line:col: text`). */
function warningLines(file: string, p: Program): string[] {
  return p.warnings.map((w) => {
    const m = /^(\d+:\d+): (.*)$/s.exec(w);
    return m === null ? `${file}: warning: ${w}` : `${file}:${m[1]}: warning: ${m[2]}`;
  });
}

/** The INSTALL_EXPR message of a compiled program (socket id 0), as lowercase hex. */
export function installHex(p: Program): string {
  return encodeInstall(p.uid, p.events, p.instructions, 0).toString('hex');
}

/** The `--format json` document. */
export function programJson(p: Program): object {
  return {
    uid: p.uid,
    instructions: p.instructions,
    events: p.events,
    scope: { uid: p.scope.uid, reportFields: p.scope.reportFields, variables: p.scope.variables },
    installHex: installHex(p),
    warnings: p.warnings,
  };
}

/** Register `compile` and `check` on the `portus` command. */
export function register(program: Command): void {
  program
    .command('compile')
    .description('compile a datapath program; print its disassembly, INSTALL_EXPR message (hex) or JSON')
    .argument('<file>', 'datapath program (.ccp), or - for standard input')
    .addOption(
      new Option('--format <format>', 'output format').choices(['text', 'hex', 'json']).default('text'),
    )
    .option('--uid <n>', 'program uid carried by the INSTALL_EXPR message', parseUid, 1)
    .action((file: string, opts: { format: 'text' | 'hex' | 'json'; uid: number }) => {
      const source = readProgram(file);
      let p: Program;
      try {
        p = compile(source, { uid: opts.uid });
      } catch (e) {
        if (e instanceof CompileError) {
          process.stderr.write(e.format(file) + '\n');
          process.exitCode = 1;
          return;
        }
        throw e;
      }
      for (const w of warningLines(file, p)) process.stderr.write(w + '\n');
      if (opts.format === 'hex') process.stdout.write(installHex(p) + '\n');
      else if (opts.format === 'json') process.stdout.write(JSON.stringify(programJson(p), null, 2) + '\n');
      else process.stdout.write(disassemble(p));
    });

  program
    .command('check')
    .description('check datapath programs; print every error, or `ok FILE` for each program that compiles')
    .argument('<files...>', 'datapath programs (.ccp)')
    .action((files: string[]) => {
      let failed = 0;
      for (const file of files) {
        let source: string;
        try {
          source = readProgram(file);
        } catch (e) {
          process.stderr.write(`${(e as Error).message}\n`);
          failed++;
          continue;
        }
        // every error of the file, recovering at the next top-level form (see lang/check.ts)
        const { program: p, errors } = checkProgram(source);
        if (p !== null) {
          for (const w of warningLines(file, p)) process.stderr.write(w + '\n');
          process.stdout.write(`ok ${file}\n`);
        } else {
          for (const e of errors) process.stderr.write(e.format(file) + '\n');
          if (errors.length > 1) process.stderr.write(`${file}: ${errors.length} errors\n`);
          failed++;
        }
      }
      if (failed > 0) {
        process.stderr.write(`${failed} of ${files.length} program${files.length === 1 ? '' : 's'} failed\n`);
        process.exitCode = 1;
      }
    });
}
