// `portus compile` and `portus check`, run as a real process (node bin/portus.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/lang/index.ts';
import { encodeInstall } from '../../src/wire/index.ts';
import { EXAMPLE_A } from '../lang/fixtures.ts';
import { INSTALL_A, hex, toHex } from '../fixtures/spec-vectors.ts';

function portus(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/portus.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'portus-cli-'));
const exampleA = join(dir, 'example-a.ccp');
writeFileSync(exampleA, EXAMPLE_A);
const bad = join(dir, 'bad.ccp');
writeFileSync(
  bad,
  '(def (Report (volatile acked 0)))\n(when true\n    (:= Report.acked (+ Report.acked Flow.was_timeout))\n)\n',
);
const AIMD = 'examples/programs/aimd.ccp';

test('portus compile FILE prints the disassembly (default format text)', () => {
  const r = portus('compile', exampleA);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], '; event 0: condition 3..3 (1), body 4..9 (6)');
  assert.ok(
    lines.some((l) => /^\s+4 {2}ADD +T\.0 <- R5\.1, P\.0 +; Report\.acked, Ack\.bytes_acked$/.test(l)),
    r.stdout,
  );
  assert.ok(
    lines.some((l) => /^\s+10 {2}GT +I\.0 <- I\.3, R6\.2/.test(l)),
    r.stdout,
  );
});

test('portus compile --format hex prints the whole INSTALL_EXPR (sid 0, uid 1) as one lowercase hex line', () => {
  const r = portus('compile', exampleA, '--format', 'hex');
  assert.equal(r.code, 0, r.stderr);
  const p = compile(EXAMPLE_A);
  assert.equal(r.stdout, encodeInstall(1, p.events, p.instructions, 0).toString('hex') + '\n');
  assert.match(r.stdout, new RegExp(`^${toHex(hex(INSTALL_A)).slice(0, 31)}`));
});

test('portus compile --uid N sets the program uid', () => {
  const r = portus('compile', AIMD, '--format', 'hex', '--uid', '258');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.slice(16, 24), '02010000');
  const bad = portus('compile', AIMD, '--uid', '0');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /program uid must be an integer/);
});

test('portus compile --format json prints instructions, events, scope and installHex', () => {
  const r = portus('compile', AIMD, '--format', 'json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    instructions: unknown[];
    events: unknown[];
    scope: { reportFields: string[]; variables: unknown[] };
    installHex: string;
  };
  const p = compile(readAimd());
  assert.deepEqual(j.instructions, p.instructions);
  assert.deepEqual(j.events, p.events);
  assert.deepEqual(j.scope.reportFields, ['Report.acked', 'Report.loss', 'Report.timeout', 'Report.rtt']);
  assert.equal(j.installHex, encodeInstall(1, p.events, p.instructions).toString('hex'));
});

test('portus compile on a bad program exits 1 with the formatted error', () => {
  const r = portus('compile', bad);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    `${bad}:3:38: error: \`+\` needs a number, but \`Flow.was_timeout\` is a boolean\n` +
      '      (:= Report.acked (+ Report.acked Flow.was_timeout))\n' +
      '                                       ^\n',
  );
});

test('portus check FILE... prints `ok FILE` for each good program and every error, exit 1 if any failed', () => {
  const good = portus('check', AIMD, 'examples/programs/reno.ccp', exampleA);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stdout, `ok ${AIMD}\nok examples/programs/reno.ccp\nok ${exampleA}\n`);

  const bad2 = join(dir, 'bad2.ccp');
  writeFileSync(bad2, '(def)\n(when (report) (:= Cwnd 1))\n');
  const mixed = portus('check', bad, AIMD, bad2, join(dir, 'missing.ccp'));
  assert.equal(mixed.code, 1);
  assert.equal(mixed.stdout, `ok ${AIMD}\n`);
  assert.match(mixed.stderr, new RegExp(`${escape(bad)}:3:38: error: `));
  assert.match(
    mixed.stderr,
    new RegExp(`${escape(bad2)}:2:7: error: \`\\(report\\)\` is a statement and cannot be a condition`),
  );
  assert.match(mixed.stderr, /cannot read .*missing\.ccp: ENOENT/);
  assert.match(mixed.stderr, /3 of 4 programs failed\n$/);
});

test('warnings go to stderr and do not fail', () => {
  const warn = join(dir, 'warn.ccp');
  writeFileSync(warn, '(def (c 0))\n(when true (report))\n');
  const r = portus('check', warn);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `ok ${warn}\n`);
  assert.match(
    r.stderr,
    new RegExp(`^${escape(warn)}:2:12: warning: \`\\(report\\)\` in a program without Report variables`),
  );
});

test('portus compile - reads the program from standard input', () => {
  const r = spawnSync(process.execPath, ['bin/portus.js', 'compile', '-', '--format', 'hex'], {
    input: EXAMPLE_A,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const p = compile(EXAMPLE_A);
  assert.equal(r.stdout, encodeInstall(1, p.events, p.instructions).toString('hex') + '\n');
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function readAimd(): string {
  return readFileSync(AIMD, 'utf8');
}

test('portus check reports every error of a file, recovering at the next top-level form', () => {
  const three = join(dir, 'three.ccp');
  writeFileSync(
    three,
    [
      '(def (Report (volatile acked 0)) (x 0))',
      '(when true',
      '    (:= Report.acked (+ Report.acked Flow.was_timeout))',
      '    (fallthrough))',
      '(when (> Micros 1000 5)',
      '    (report))',
      '(when (> Report.acked 10)',
      '    (:= x (+ x ))',
      '    (report))',
      '(when true (:= Cwnd (* 2 Report.acked)))',
      '',
    ].join('\n'),
  );
  const r = portus('check', three, AIMD);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, `ok ${AIMD}\n`);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith(`${three}:`));
  assert.deepEqual(
    lines.map((l) => /^[^:]+:(\d+:\d+): error/.exec(l)?.[1] ?? l),
    ['3:38', '5:22', '8:16', `${three}: 3 errors`],
  );
  assert.match(r.stderr, /1 of 2 programs failed\n$/);
});
