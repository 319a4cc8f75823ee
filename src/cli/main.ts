/**
 * The `portus` command: one sub-command per file in this folder, each exporting
 * `register(program)`. `main` returns the process exit code.
 *
 * Start-up time matters (the CLI is run by hand, by scripts and under slow emulators), so a
 * sub-command's module — and with it the agent, simulator or datapath — is imported only when that
 * command runs. The top-level `--help` is built from {@link COMMANDS}, a table of each command's
 * help line, without importing any of them; a test checks the table against the real commands.
 * @module
 */
import { Command, CommanderError, Help } from 'commander';
import { isPortusError } from '../errors.ts';
import { exitQuietlyOnClosedPipe } from './stdout.ts';

/** What a sub-command module exports. */
export interface CommandModule {
  register(program: Command): void;
}

/** One sub-command: its name, its top-level help line, and the module that registers it. */
export interface CommandEntry {
  /** The command's name (`portus <name>`). */
  readonly name: string;
  /** Its usage term in the top-level help, as commander prints it (`run [options] <algorithm>`). */
  readonly term: string;
  /** Its one-line description, exactly as the module registers it. */
  readonly description: string;
  /** Import the module that registers it. */
  readonly load: () => Promise<CommandModule>;
  /** Registered but not listed in `--help` (internal helpers such as the demo's agent process). */
  readonly hidden?: boolean;
}

/** Every sub-command, in help order. Modules that register several commands appear once per command. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'compile',
    term: 'compile [options] <file>',
    description: 'compile a datapath program; print its disassembly, INSTALL_EXPR message (hex) or JSON',
    load: () => import('./compile.ts'),
  },
  {
    name: 'check',
    term: 'check <files...>',
    description: 'check datapath programs; print every error, or `ok FILE` for each program that compiles',
    load: () => import('./compile.ts'),
  },
  {
    name: 'datapath',
    term: 'datapath [options]',
    description:
      'run a libccp-compatible datapath (the TypeScript machine) with synthetic ACKs against an agent over a unix socket',
    load: () => import('./datapath.ts'),
  },
  {
    name: 'run',
    term: 'run [options] <algorithm>',
    description: 'run the agent in the foreground with a built-in algorithm or one from a .ts/.js file',
    load: () => import('./run.ts'),
  },
  {
    name: 'sim',
    term: 'sim [options] [scenario]',
    description: 'simulate flows over a bottleneck, driven by the real agent and datapath (simulated time)',
    load: () => import('./sim.ts'),
  },
  {
    name: 'demo',
    term: 'demo [options]',
    description:
      'run the agent as a process and a simulated link + datapath against it, live, over a Unix socket',
    load: () => import('./demo.ts'),
  },
  {
    name: 'demo-agent',
    term: 'demo-agent [options] <socket> <algorithms...>',
    description: '',
    load: () => import('./demo.ts'),
    hidden: true,
  },
  {
    name: 'sweep',
    term: 'sweep [options] <spec>',
    description:
      'run a matrix of simulations (algorithms × scenarios × seeds) in parallel; results.csv and a leaderboard',
    load: () => import('./sweep.ts'),
  },
  {
    name: 'worker',
    term: 'worker [options]',
    description: 'run sweep cells from a Redis queue (see `portus sweep --queue`) until interrupted',
    load: () => import('./worker.ts'),
  },
];

function baseProgram(): Command {
  return new Command('portus')
    .description('Congestion control plane: write congestion control algorithms in TypeScript')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();
}

/** The top-level program with placeholder sub-commands (help lines only), for `--help`/`--version`. */
function overviewProgram(): Command {
  const program = baseProgram();
  const terms = new Map<Command, string>();
  for (const c of COMMANDS) {
    if (c.hidden !== true) terms.set(program.command(c.name).description(c.description), c.term);
  }
  const help = new Help();
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd) ?? help.subcommandTerm(cmd) });
  return program;
}

/** Build the complete command tree, every sub-command module imported (tests, `portus help <cmd>`). */
export async function buildProgram(): Promise<Command> {
  const program = baseProgram();
  const loaded = new Set<CommandModule>();
  for (const c of COMMANDS) {
    const m = await c.load();
    if (!loaded.has(m)) m.register(program);
    loaded.add(m);
  }
  return program;
}

async function programFor(argv: readonly string[]): Promise<Command> {
  const first = argv[0];
  const entry = COMMANDS.find((c) => c.name === first);
  if (entry !== undefined) {
    const program = baseProgram();
    (await entry.load()).register(program);
    return program;
  }
  if (first === undefined || first.startsWith('-')) return overviewProgram();
  return buildProgram(); // `help <command>`, or an unknown command (commander suggests the nearest)
}

/** Run the CLI with `argv` (without node and script path). Resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe();
  try {
    const program = await programFor(argv);
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
