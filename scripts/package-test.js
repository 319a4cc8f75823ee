// `npm run test:package`: the package as a user gets it (issue #10). Packs the tarball, checks its
// file list and size against the allow-list, installs it into a fresh temporary project offline from
// the npm cache, and there:
//   1. a plain-node ESM file imports 'portus', 'portus/testing' and 'portus/wire' and runs
//      algorithms (a built-in and a classic JavaScript class) in simulated time;
//   2. a CommonJS file require()s 'portus' (require(esm): Node ^20.19 / >=22.12, the engines range);
//   3. TypeScript files (ours and the shipped examples) compile with tsc under module nodenext,
//      strict, exactOptionalPropertyTypes and skipLibCheck false, with zero errors;
//   4. `npx portus run ./alg.ts` runs that TypeScript algorithm, driven by `npx portus datapath` over
//      a real Unix socket, and a lone .ts file in a folder without portus runs too;
//   5. `portus --version` is the package's version.
// Plain JavaScript on purpose: it runs on the built package only, without tsx. Exits non-zero on the
// first failure; leaves nothing behind (KEEP=1 keeps the temporary folder for inspection).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const TMP = mkdtempSync(join(tmpdir(), 'portus-package-'));
const APP = join(TMP, 'app');
const LONE = join(TMP, 'lone');
// The user's environment: no portus-source condition from `npm test`.
const ENV = { ...process.env, NODE_OPTIONS: '' };
const t0 = Date.now();

/** What may ship: everything else in the tarball is an error. */
const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^bin\/portus\.js$/,
  /^dist\/.+\.(js|d\.ts|js\.map|mjs)$/,
  /^docs\/[^/]+\.md$/,
  /^docs\/img\/[^/]+\.(png|svg)$/,
  /^assets\/dashboard\/[^/]+\.(js|css)$/,
  /^examples\/(?!run-all\.ts$)[^/]+\.ts$/,
  /^examples\/(programs|scenarios)\/[^/]+\.(ccp|json)$/,
  /^examples\/scenarios\/traces\/[^/]+\.trace$/,
  /^examples\/sweeps\/[^/]+\.(ya?ml|json)$/,
  /^prebuilds\/linux-x64\/[^/]+$/,
  // the unix datagram addon's sources: node-gyp-build compiles them where no prebuild fits
  /^binding\.gyp$/,
  /^native\/unix-dgram\/[^/]+\.c$/,
];
const REQUIRED = [
  'package.json',
  'README.md',
  'LICENSE',
  'bin/portus.js',
  'dist/index.js',
  'dist/index.d.ts',
  'dist/testing/index.js',
  'dist/testing/index.d.ts',
  'dist/wire/index.js',
  'dist/wire/index.d.ts',
  'dist/cli/main.js',
  'dist/algorithms/module-hooks.mjs',
  'binding.gyp',
  'native/unix-dgram/unix_dgram.c',
];
/** Size limits, with room to grow; prebuilt native parts count separately. */
const MAX_UNPACKED = 2_500_000;
const MAX_PREBUILDS = 2_000_000;
const MAX_PACKED = 1_000_000;

function step(name) {
  console.log(`-- ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: ENV, timeout: 300_000, ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

function write(path, text) {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

/** Resolve when `child` prints a line matching `re`; reject if it exits first. */
function waitFor(child, re, what) {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d;
      if (re.test(out)) resolve(out);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before ${re}:\n${out}`)));
  });
}

/** SIGINT to `child`'s process group (npx runs the command in a shell below itself), then wait. */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  const kill = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), 10_000);
  process.kill(-child.pid, 'SIGINT');
  await exited;
  clearTimeout(kill);
}

/** Newest modification time under `dir` (ms). */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs);
  }
  return t;
}

function packAndCheck() {
  // `npm pack` would rebuild through prepack; CI has just built dist/ in `npm ci` (prepare), so
  // build only when dist/ is missing or older than a source file, and pack without scripts.
  const built = join(ROOT, 'dist/index.js');
  if (!existsSync(built) || statSync(built).mtimeMs < newest(join(ROOT, 'src'))) {
    step('npm run build');
    run('npm', ['run', 'build'], { cwd: ROOT });
  }
  step('npm pack');
  const out = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', TMP], { cwd: ROOT });
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  const paths = info.files.map((f) => f.path);
  const stray = paths.filter((p) => !ALLOWED.some((re) => re.test(p)));
  assert.deepEqual(stray, [], `files outside the allow-list:\n${stray.join('\n')}`);
  const missing = REQUIRED.filter((p) => !paths.includes(p));
  assert.deepEqual(missing, [], `required files missing:\n${missing.join('\n')}`);
  const prebuilt = info.files.filter((f) => f.path.startsWith('prebuilds/')).reduce((s, f) => s + f.size, 0);
  const unpacked = info.unpackedSize - prebuilt;
  assert.ok(unpacked <= MAX_UNPACKED, `unpacked ${unpacked} B (without prebuilds) > ${MAX_UNPACKED}`);
  assert.ok(prebuilt <= MAX_PREBUILDS, `prebuilds ${prebuilt} B > ${MAX_PREBUILDS}`);
  assert.ok(info.size <= MAX_PACKED, `tarball ${info.size} B > ${MAX_PACKED}`);
  console.log(
    `   ${paths.length} files, ${info.size} B packed, ${unpacked} B unpacked` +
      (prebuilt > 0 ? ` + ${prebuilt} B prebuilds` : ''),
  );
  return join(TMP, info.filename);
}

function install(tarball) {
  // --prefer-offline: package tarballs come from the npm cache that `npm ci` filled; only metadata
  // that `npm ci` never fetched (it installs from the lockfile) may go to the registry.
  step('install the tarball into a fresh project from the npm cache');
  const req = createRequire(join(ROOT, 'package.json'));
  const version = (name) => JSON.parse(readFileSync(req.resolve(`${name}/package.json`), 'utf8')).version;
  write(join(APP, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }, null, 2));
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      tarball,
      `typescript@${version('typescript')}`,
      `@types/node@${version('@types/node')}`,
    ],
    { cwd: APP },
  );
}

function plainNode() {
  step('plain node: ESM import of portus, portus/testing, portus/wire');
  write(
    join(APP, 'esm.mjs'),
    `import assert from 'node:assert/strict';
import { AlgBase, compile, ErrorCodes, getAlgorithm, PortusError } from 'portus';
import { createTestbed } from 'portus/testing';
import { decode, encodeReady, MsgType } from 'portus/wire';

// A built-in algorithm in simulated time.
const tb = await createTestbed({ algorithm: getAlgorithm('reno') });
const f = await tb.startFlow();
const start = f.cwnd;
await f.rtts(3);
assert.ok(f.cwnd > start, 'reno grows in slow start');
await tb.close();

// A classic algorithm written in plain JavaScript.
class Halver extends AlgBase {
  static algName = 'halver';
  onCreate() {
    this.datapath.install('(def (Report (volatile acked 0))) (when true (:= Report.acked (+ Report.acked Ack.bytes_acked)) (report))');
  }
  onReport(r) {
    this.datapath.updateField('Cwnd', 5 * this.datapathInfo.mss);
  }
}
const tb2 = await createTestbed({ algorithm: Halver });
const g = await tb2.startFlow();
await g.ack();
await tb2.settle();
await g.ack();
assert.equal(g.cwnd, 5 * 1448);
await tb2.close();

assert.ok(compile('(def (Report (volatile a 0))) (when true (report))').instructions.length > 0);
assert.equal(decode(encodeReady(7)).type, MsgType.READY);
assert.ok(new PortusError(ErrorCodes.USAGE, 'x') instanceof Error);
console.log('esm ok');
`,
  );
  assert.match(run(process.execPath, ['esm.mjs'], { cwd: APP }), /esm ok/);
}

function requireCjs() {
  step('require("portus") from CommonJS');
  write(
    join(APP, 'cjs.cjs'),
    `const assert = require('node:assert/strict');
const portus = require('portus');
const { createTestbed } = require('portus/testing');
const wire = require('portus/wire');
assert.equal(typeof portus.AlgBase, 'function');
assert.equal(typeof portus.compile, 'function');
assert.equal(typeof createTestbed, 'function');
assert.equal(typeof wire.decode, 'function');
console.log('cjs ok');
`,
  );
  assert.match(run(process.execPath, ['cjs.cjs'], { cwd: APP }), /cjs ok/);
}

const ALG_TS = `import { AlgBase, type Report } from 'portus';

/** Fixed window of \`cwnd_pkts\` packets (default 20), reported once per RTT. */
export default class FixedWindow extends AlgBase {
  static override algName = 'fixed-window';
  private readonly cwnd = Number(this.params.cwnd_pkts ?? 20) * this.datapathInfo.mss;

  override onCreate(): void {
    this.datapath.install(
      \`(def (Report (volatile acked 0)))
       (when true (:= Report.acked (+ Report.acked Ack.bytes_acked)) (fallthrough))
       (when (> Micros Flow.rtt_sample_us) (report) (:= Micros 0))\`,
      { Cwnd: this.cwnd },
    );
  }

  override onReport(_r: Report): void {
    this.datapath.updateField('Cwnd', this.cwnd);
  }
}
`;

function typescript() {
  step('tsc: module nodenext, strict, exactOptionalPropertyTypes, skipLibCheck false');
  write(join(APP, 'alg.ts'), ALG_TS);
  write(
    join(APP, 'use.ts'),
    `import { getAlgorithm, type Algorithm, type Report } from 'portus';
import { createTestbed, type TestbedOptions } from 'portus/testing';
import { decode, type Message } from 'portus/wire';
import FixedWindow from './alg.js';

const vegasLike: Algorithm = {
  name: 'rtt-printer',
  datapathPrograms: () => ({ p: '(def (Report (volatile rtt 0))) (when true (:= Report.rtt Flow.rtt_sample_us) (report))' }),
  newFlow: (datapath, info) => {
    datapath.setProgram('p', { Cwnd: 10 * info.mss });
    return { onReport: (r: Report) => void r.rtt };
  },
};
const opts: TestbedOptions = { algorithm: [FixedWindow, vegasLike, getAlgorithm('cubic')], defaultAlgorithm: 'fixed-window' };
const tb = await createTestbed(opts);
const f = await tb.startFlow();
await f.rtts(2);
const first: Message = decode(Buffer.from([1, 0, 8, 0, 0, 0, 0, 0]));
console.log(f.cwnd, first.type);
await tb.close();
`,
  );
  for (const ex of ['classic-aimd.ts', 'portus-vegas.ts']) {
    copyFileSync(join(APP, 'node_modules/portus/examples', ex), join(APP, ex));
  }
  write(
    join(APP, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          exactOptionalPropertyTypes: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
        },
        include: ['*.ts'],
      },
      null,
      2,
    ),
  );
  run(process.execPath, [join(APP, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: APP });
}

async function cli() {
  step('npx portus --version, npx portus run ./alg.ts driven by npx portus datapath');
  assert.equal(run('npx', ['--offline', 'portus', '--version'], { cwd: APP }).trim(), PKG.version);
  const sock = join(TMP, 'agent.sock');
  const agent = spawn('npx', ['--offline', 'portus', 'run', './alg.ts', '--socket', sock, '--quiet'], {
    cwd: APP,
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  try {
    await waitFor(agent, /running 'fixed-window'/, 'portus run ./alg.ts');
    const out = run(
      'npx',
      [
        '--offline',
        'portus',
        'datapath',
        '--agent',
        sock,
        '--socket',
        join(TMP, 'dp.sock'),
        '--duration',
        '1',
        '--json',
      ],
      { cwd: APP, timeout: 60_000 },
    );
    const cwnds = out
      .split('\n')
      .filter((l) => l.includes('"set_cwnd"'))
      .map((l) => JSON.parse(l).cwnd);
    assert.ok(cwnds.includes(20 * 1448), `the datapath applied the algorithm's window:\n${out}`);
  } finally {
    await stop(agent);
  }

  step('a lone .ts algorithm in a folder without portus installed');
  write(join(LONE, 'lone.ts'), ALG_TS.replace("'fixed-window'", "'lone'"));
  const lone = spawn(
    process.execPath,
    [
      join(APP, 'node_modules/portus/bin/portus.js'),
      'run',
      join(LONE, 'lone.ts'),
      '--socket',
      sock,
      '--quiet',
    ],
    { cwd: LONE, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  try {
    await waitFor(lone, /running 'lone'/, 'portus run lone.ts');
  } finally {
    await stop(lone);
  }
}

try {
  const tarball = packAndCheck();
  install(tarball);
  plainNode();
  requireCjs();
  typescript();
  await cli();
  console.log(`package test passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
} catch (e) {
  console.error(`package test FAILED: ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
} finally {
  if (process.env.KEEP === '1') console.log(`kept ${TMP}`);
  else rmSync(TMP, { recursive: true, force: true });
}
