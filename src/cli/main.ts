/**
 * The `portus` command: one sub-command per file in this folder, each exporting
 * `register(program)`. `main` returns the process exit code.
 * @module
 */
import { Command, CommanderError } from 'commander';
import { isPortusError } from '../errors.ts';
import * as compile from './compile.ts';
import * as datapath from './datapath.ts';
import * as run from './run.ts';
import * as sim from './sim.ts';
import * as demo from './demo.ts';
import * as sweep from './sweep.ts';
import * as worker from './worker.ts';

/** Build the command tree (exported for tests and `--help` documentation). */
export function buildProgram(): Command {
  const program = new Command('portus')
    .description('Congestion control plane: write congestion control algorithms in TypeScript')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();
  compile.register(program);
  datapath.register(program);
  run.register(program);
  sim.register(program);
  demo.register(program);
  sweep.register(program);
  worker.register(program);
  return program;
}

/** Run the CLI with `argv` (without node and script path). Resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (isPortusError(e)) {
      console.error(`portus: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
