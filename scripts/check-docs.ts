// Docs that run: every TypeScript code block in README.md and docs/*.md is type-checked against
// the sources (`import ... from 'portus'` resolves to this checkout through the package's own
// `exports`) and then run; every `portus ...` line in a shell block must name a real sub-command
// and real options.
//
//   node --import tsx scripts/check-docs.ts [--no-run] [files.md...]
//
// Markers, as HTML comments on the lines just above a block's opening fence (invisible when the
// Markdown is rendered):
//   <!-- no-check: reason -->   neither type-checked nor run (e.g. needs root or a kernel module)
//   <!-- no-run: reason -->     type-checked, not run (e.g. waits for a signal, needs a datapath)
//   <!-- file: my-alg.ts -->    saved under this name, so later blocks can `import ... from './my-alg.ts'`
//   <!-- prelude: declare const source: string; -->
//                               TypeScript put before the block, for fragments that use names the
//                               reader supplies (type-checked against the real API all the same)
// A reason is required: a block opts out honestly or not at all.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { buildProgram } from '../src/cli/main.ts';

/** One fenced code block. */
export interface Block {
  doc: string;
  /** 1-based line of the first line of code (after the fence). */
  line: number;
  lang: 'ts' | 'sh' | 'other';
  code: string;
  noCheck: string | null;
  noRun: string | null;
  file: string | null;
  prelude: string | null;
}

/** A problem found, positioned at a line of a Markdown file. */
export interface Problem {
  doc: string;
  line: number;
  message: string;
}

const TS_LANGS = new Set(['ts', 'typescript', 'tsx']);
const SH_LANGS = new Set(['sh', 'bash', 'shell', 'console', 'shell-session']);

/** Extract the fenced code blocks of a Markdown text, with their markers. */
export function extractBlocks(doc: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const tag = open[3]!.toLowerCase();
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      if (lines[j]!.trim().startsWith(fence) && lines[j]!.trim().replace(/[`~]/g, '') === '') break;
      body.push(lines[j]!.slice(Math.min(open[1]!.length, /^\s*/.exec(lines[j]!)![0].length)));
    }
    // markers: the comment lines right above the fence (blank lines between are allowed)
    const markers: string[] = [];
    for (let k = i - 1; k >= 0; k--) {
      const l = lines[k]!.trim();
      if (l === '') continue;
      const m = /^<!--\s*(.*?)\s*-->$/.exec(l);
      if (!m) break;
      markers.push(m[1]!);
    }
    const marker = (name: string): string | null => {
      for (const m of markers) {
        const x = new RegExp(`^${name}\\s*:\\s*(.*)$`).exec(m);
        if (x) return x[1]!.trim();
      }
      return null;
    };
    blocks.push({
      doc,
      line: i + 2,
      lang: TS_LANGS.has(tag) ? 'ts' : SH_LANGS.has(tag) ? 'sh' : 'other',
      code: body.join('\n') + '\n',
      noCheck: marker('no-check'),
      noRun: marker('no-run'),
      file: marker('file'),
      prelude: marker('prelude'),
    });
    i = j;
  }
  return blocks;
}

/** README.md and every docs/*.md (new docs are picked up without registering them). */
export function docFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join('docs', f));
  return ['README.md', ...docs];
}

// ---------------------------------------------------------------- shell blocks

/** Every `portus` sub-command with its long and short options (from the real command tree). */
export async function cliCommands(): Promise<Map<string, Set<string>>> {
  const program = await buildProgram();
  const out = new Map<string, Set<string>>();
  for (const cmd of program.commands) {
    const opts = new Set<string>(['--help', '-h']);
    for (const o of cmd.options) {
      if (o.long) opts.add(o.long);
      if (o.short) opts.add(o.short);
    }
    out.set(cmd.name(), opts);
  }
  return out;
}

/** Check the `portus ...` commands of a shell block. */
export function checkShell(b: Block, commands: Map<string, Set<string>>): Problem[] {
  const problems: Problem[] = [];
  const lines = b.code.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!.trim().replace(/^\$\s+/, '');
    l = l.replace(/\s#.*$/, '');
    for (const part of l.split(/&&|\|\||;|\|/)) {
      const words = part.trim().split(/\s+/);
      let k = 0;
      while (k < words.length && /^(sudo|npx|env|[A-Z_]+=\S*)$/.test(words[k]!)) k++;
      const w = words[k];
      if (w !== 'portus' && w !== 'bin/portus.js' && w !== './bin/portus.js') continue;
      const sub = words[k + 1];
      if (sub === undefined || sub.startsWith('-')) continue; // `portus --help`, `portus --version`
      const opts = commands.get(sub);
      if (opts === undefined) {
        problems.push({ doc: b.doc, line: b.line + i, message: `\`portus ${sub}\`: no such sub-command` });
        continue;
      }
      for (const word of words.slice(k + 2)) {
        const flag = word.replace(/=.*$/, '');
        if (!/^--?[a-zA-Z]/.test(flag)) continue;
        if (!opts.has(flag)) {
          problems.push({ doc: b.doc, line: b.line + i, message: `\`portus ${sub}\` has no option ${flag}` });
        }
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------- TypeScript blocks

interface Written {
  block: Block;
  path: string;
}

/** Write the TypeScript blocks into `dir` (inside the checkout, so `portus` self-resolves). */
function writeBlocks(blocks: Block[], dir: string): Written[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out: Written[] = [];
  for (const b of blocks) {
    const base = b.doc.replace(/[^A-Za-z0-9]+/g, '-').replace(/-md$/, '');
    const name = b.file ?? `${base}-L${b.line}.ts`;
    // docs write imports relative to the checkout ('./src/sim/index.ts'); the block lives one deeper
    // a prelude goes on the same first line, so line numbers stay those of the block
    const code = ((b.prelude === null ? '' : `${b.prelude} `) + b.code).replace(
      /(from\s+|import\()(['"])\.\/src\//g,
      '$1$2../src/',
    );
    const path = join(dir, name);
    // every block is its own module (a block without import/export would share the global scope)
    writeFileSync(path, /^\s*(import|export)\s/m.test(code) ? code : `${code}export {};\n`);
    out.push({ block: b, path });
  }
  return out;
}

/** Type-check the written blocks with the project's compiler settings. */
function typeCheck(root: string, dir: string, written: Written[]): Problem[] {
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify(
      { extends: '../tsconfig.json', include: ['*.ts'], compilerOptions: { noEmit: true } },
      null,
      2,
    ),
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(
    process.execPath,
    [tsc, '--noEmit', '--pretty', 'false', '-p', join(dir, 'tsconfig.json')],
    {
      encoding: 'utf8',
      cwd: root,
    },
  );
  const problems: Problem[] = [];
  const byPath = new Map(written.map((w) => [resolve(w.path), w.block]));
  for (const line of r.stdout.split('\n')) {
    const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+: .*)$/.exec(line);
    if (!m) continue;
    const b = byPath.get(resolve(root, m[1]!));
    if (b === undefined) {
      problems.push({ doc: m[1]!, line: Number(m[2]), message: m[4]! }); // the sources themselves
      continue;
    }
    problems.push({ doc: b.doc, line: b.line + Number(m[2]) - 1, message: m[4]! });
  }
  if (r.status !== 0 && problems.length === 0) {
    problems.push({ doc: 'tsc', line: 0, message: (r.stdout + r.stderr).trim().slice(0, 2000) });
  }
  return problems;
}

/** Run one block as a program (tsx), with a timeout; a failure is a problem. */
function runBlock(root: string, w: Written, timeoutMs: number): Problem | null {
  const isTest = /from ['"]node:test['"]/.test(w.block.code);
  // 'portus' resolves to the sources (package.json's `portus-source` condition), not to dist/
  const args = [
    '--conditions=portus-source',
    '--import',
    'tsx',
    ...(isTest ? ['--test', '--test-reporter=dot'] : []),
    w.path,
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: root, timeout: timeoutMs });
  if (r.status === 0) return null;
  const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
  const tail = (r.stderr + r.stdout).trim().split('\n').slice(-12).join('\n');
  return { doc: w.block.doc, line: w.block.line, message: `running the block failed (${why}):\n${tail}` };
}

/** Check the docs of the checkout at `root`; returns the problems and what was done. */
export async function checkDocs(
  root: string,
  opts: { files?: string[] | undefined; run?: boolean; timeoutMs?: number } = {},
): Promise<{ problems: Problem[]; summary: string }> {
  const files = opts.files ?? docFiles(root);
  const blocks = files.flatMap((f) =>
    extractBlocks(relative(root, resolve(root, f)), readFileSync(resolve(root, f), 'utf8')),
  );
  const problems: Problem[] = [];
  for (const b of blocks) {
    for (const [k, v] of [
      ['no-check', b.noCheck],
      ['no-run', b.noRun],
    ] as const) {
      if (v === '') problems.push({ doc: b.doc, line: b.line - 1, message: `<!-- ${k}: --> needs a reason` });
    }
  }
  const commands = await cliCommands();
  const shell = blocks.filter((b) => b.lang === 'sh' && b.noCheck === null);
  for (const b of shell) problems.push(...checkShell(b, commands));
  const ts = blocks.filter((b) => b.lang === 'ts' && b.noCheck === null);
  const skipped = blocks.filter((b) => b.lang === 'ts' && b.noCheck !== null);
  const dir = join(root, '.scratch-docs');
  let ran = 0;
  try {
    const written = writeBlocks(ts, dir);
    const typeProblems = typeCheck(root, dir, written);
    problems.push(...typeProblems);
    if (opts.run !== false) {
      const broken = new Set(typeProblems.map((p) => `${p.doc}:${p.line}`));
      for (const w of written) {
        if (w.block.noRun !== null) continue;
        const end = w.block.line + w.block.code.split('\n').length;
        if ([...broken].some((k) => k.startsWith(`${w.block.doc}:`) && inRange(k, w.block.line, end)))
          continue;
        ran++;
        const p = runBlock(root, w, opts.timeoutMs ?? 60_000);
        if (p) problems.push(p);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const summary =
    `${files.length} files: ${ts.length} TypeScript blocks type-checked, ${ran} run, ` +
    `${skipped.length} marked no-check; ${shell.length} shell blocks checked` +
    (skipped.length > 0
      ? `\n${skipped.map((b) => `  no-check ${b.doc}:${b.line}: ${b.noCheck}`).join('\n')}`
      : '');
  return { problems, summary };
}

function inRange(key: string, from: number, to: number): boolean {
  const n = Number(key.slice(key.lastIndexOf(':') + 1));
  return n >= from && n <= to;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('check-docs.ts')) {
  const args = process.argv.slice(2);
  const root = resolve(import.meta.dirname, '..');
  const files = args.filter((a) => !a.startsWith('--'));
  const { problems, summary } = await checkDocs(root, {
    files: files.length > 0 ? files : undefined,
    run: !args.includes('--no-run'),
  });
  for (const p of problems) console.error(`${p.doc}:${p.line}: ${p.message}`);
  console.log(summary);
  if (problems.length > 0) {
    console.error(
      `\n${problems.length} problem(s). Fix the block, or mark it honestly with a reason on the line above its fence:\n` +
        '  <!-- no-run: why it cannot run in CI -->  or  <!-- no-check: why it cannot even be type-checked -->',
    );
    process.exitCode = 1;
  }
}
