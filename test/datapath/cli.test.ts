// End to end: `portus datapath` as a real child process over real unix datagram sockets, against a
// minimal agent written here (it answers READY with INSTALL_EXPR and CREATE with CHANGE_PROG).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, watch } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../../src/lang/index.ts';
import {
  decode,
  encodeChangeProg,
  encodeInstall,
  forEachMessage,
  type Message,
} from '../../src/wire/index.ts';
import { openUnix } from '../../src/ipc/index.ts';
import { AIMD_PROGRAM } from '../../bench/datapath/programs.ts';

interface Line {
  t_us: number;
  ev: string;
  [k: string]: unknown;
}

function runCli(
  args: string[],
  timeoutMs = 30000,
): Promise<{ code: number | null; lines: Line[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/portus.js', 'datapath', '--json', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`portus datapath did not finish in ${timeoutMs} ms\n${out}\n${err}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Line);
      resolve({ code, lines, stderr: err });
    });
  });
}

test('portus datapath talks to an agent over real unix sockets: READY/INSTALL, CREATE/CHANGE_PROG, reports, set_cwnd, close', async () => {
  const dir = mkdtempSync('/tmp/ccp-dp-test-');
  const agentPath = join(dir, 'agent');
  const dpPath = join(dir, 'dp');
  const prog = compile(AIMD_PROGRAM, { uid: 1 });
  const agent = await openUnix({ path: agentPath });
  const got: Message[] = [];
  const senders = new Set<string>();
  agent.onMessage((buf, from) => {
    senders.add(from);
    forEachMessage(buf, (b, off) => {
      const m = decode(b, off);
      got.push(m);
      if (m.type === 5) agent.send(encodeInstall(1, prog.events, prog.instructions), from);
      if (m.type === 0) {
        agent.send(encodeChangeProg(m.sid, 1, [{ regType: 2, regIndex: 4, value: 20000n }]), from);
      }
    });
  });
  try {
    const { code, lines, stderr } = await runCli([
      '--agent',
      agentPath,
      '--socket',
      dpPath,
      '--flows',
      '2',
      '--rate',
      '400',
      '--duration',
      '1',
      '--rtt-us',
      '2000',
      '--rtt-step-us',
      '100',
      '--loss-every',
      '50',
      '--alg',
      'aimd',
    ]);
    assert.equal(code, 0, stderr);
    const ev = (name: string): Line[] => lines.filter((l) => l.ev === name);
    assert.equal(ev('ready').length, 1);
    const installs = ev('recv').filter((l) => l.type === 'install');
    assert.deepEqual(
      installs.map((l) => [l.uid, l.code]),
      [[1, 0]],
    );
    const changes = ev('recv').filter((l) => l.type === 'change_prog');
    assert.deepEqual(changes.map((l) => [l.sid, l.code]).sort(), [
      [1, 0],
      [2, 0],
    ]);
    assert.deepEqual(
      ev('flow_start').map((l) => l.sid),
      [1, 2],
    );
    for (const sid of [1, 2]) {
      const cw = ev('set_cwnd')
        .filter((l) => l.sid === sid)
        .map((l) => l.cwnd as number);
      assert.ok(cw.length >= 3, `set_cwnd events for sid ${sid}: ${cw.length}`);
      assert.equal(cw[0], 20000, 'the CHANGE_PROG Cwnd is applied first');
      assert.ok(
        cw.some((x, i) => i > 0 && x < cw[i - 1]!),
        'a loss halves the window',
      );
      assert.ok(
        cw.some((x, i) => i > 0 && x > cw[i - 1]!),
        'ACKs grow the window',
      );
    }
    assert.deepEqual(
      ev('flow_close').map((l) => l.sid),
      [1, 2],
    );
    const summary = lines.at(-1)!;
    assert.equal(summary.ev, 'summary');
    assert.equal(summary.acks, 800);
    assert.ok((summary.reports as number) > 0);
    // ACKs start with the flows; until the CHANGE_PROG round trip completes invoke returns -96
    const results = summary.invoke_results as Record<string, number>;
    assert.ok(
      Object.keys(results).every((k) => k === '0' || k === '-96'),
      JSON.stringify(results),
    );
    assert.equal((results['0'] ?? 0) + (results['-96'] ?? 0), 800);
    assert.ok((results['0'] ?? 0) > 400, JSON.stringify(results)); // the rest waited for the CHANGE_PROG (slow under load)
    // times are non-decreasing
    for (let i = 1; i < lines.length; i++) assert.ok(lines[i]!.t_us >= lines[i - 1]!.t_us);
    // what the agent saw
    assert.deepEqual([...senders], [dpPath]);
    assert.equal(got[0]!.type, 5);
    const creates = got.filter((m) => m.type === 0);
    assert.deepEqual(
      creates.map((m) => m.type === 0 && [m.sid, m.congAlg, m.mss, m.initCwnd]),
      [
        [1, 'aimd', 1448, 14480],
        [2, 'aimd', 1448, 14480],
      ],
    );
    const measures = got.filter((m) => m.type === 1);
    const reports = measures.filter((m) => m.type === 1 && m.numFields > 0);
    assert.equal(reports.length, summary.reports);
    assert.ok(reports.every((m) => m.type === 1 && m.programUid === 1 && m.fields.length === 3));
    const closes = measures.filter((m) => m.type === 1 && m.numFields === 0).map((m) => m.sid);
    assert.deepEqual(closes.sort(), [1, 2]);
  } finally {
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('portus datapath without an agent: exit 1 at once, naming the path and how to start one', async () => {
  const dir = mkdtempSync('/tmp/ccp-dp-test-');
  try {
    const t0 = Date.now();
    const { code, lines, stderr } = await runCli([
      '--agent',
      join(dir, 'nobody'),
      '--socket',
      join(dir, 'dp'),
      '--flows',
      '1',
      '--duration',
      '60',
    ]);
    assert.equal(code, 1);
    assert.match(
      stderr,
      new RegExp(`no agent listening at ${join(dir, 'nobody')} \\(start one with \`portus run\`\\)`),
    );
    assert.ok(!lines.some((l) => l.ev === 'flow_start'), 'no flows started');
    assert.ok(Date.now() - t0 < 30_000, 'did not run the duration');
    assert.ok(!existsSync(join(dir, 'dp')), 'its socket file is removed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Resolve once `path` exists (fs.watch on its directory; generous safety timeout). */
function whenExists(path: string, dir: string, timeoutMs = 20000): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = watch(dir, () => {
      if (existsSync(path)) done();
    });
    const timer = setTimeout(() => {
      w.close();
      reject(new Error(`${path} did not appear within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      w.close();
      resolve();
    };
    if (existsSync(path)) done();
  });
}

test('portus datapath against the real agent (`portus run reno`), two processes over unix sockets', async () => {
  const dir = mkdtempSync('/tmp/ccp-dp-test-');
  const agentPath = join(dir, 'agent');
  const agent = spawn(process.execPath, ['bin/portus.js', 'run', 'reno', '--socket', agentPath, '--quiet'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let agentOut = '';
  agent.stdout.on('data', (d: Buffer) => (agentOut += d.toString()));
  agent.stderr.on('data', (d: Buffer) => (agentOut += d.toString()));
  const agentExit = new Promise<number | null>((resolve) => agent.on('close', resolve));
  try {
    await whenExists(agentPath, dir);
    const { code, lines, stderr } = await runCli([
      '--agent',
      agentPath,
      '--socket',
      join(dir, 'dp'),
      '--flows',
      '2',
      '--rate',
      '400',
      '--duration',
      '2', // several losses after the CHANGE_PROG, even on a loaded machine
      '--rtt-us',
      '20000',
      '--loss-every',
      '150',
      '--alg',
      'reno',
      '--log-level',
      'error',
    ]);
    assert.equal(code, 0, stderr);
    const recv = lines.filter((l) => l.ev === 'recv');
    assert.ok(
      recv.some((l) => l.type === 'install' && l.code === 0 && l.uid === 1),
      'the agent installed its programs',
    );
    for (const sid of [1, 2]) {
      assert.ok(recv.some((l) => l.type === 'change_prog' && l.sid === sid && l.code === 0));
      const cw = lines.filter((l) => l.ev === 'set_cwnd' && l.sid === sid).map((l) => l.cwnd as number);
      assert.ok(cw.length > 2, `reno drives the window of flow ${sid}`);
      assert.ok(
        cw.some((x, i) => i > 0 && x < cw[i - 1]!),
        'reno reduces the window on loss',
      );
    }
    // every agent message is accepted while the flows exist (a late update may follow the close: -71)
    const closedAt = lines.findIndex((l) => l.ev === 'flow_close');
    assert.ok(lines.slice(0, closedAt).every((l) => l.ev !== 'recv' || l.code === 0));
    assert.ok(recv.every((l) => l.code === 0 || l.code === -71));
    const summary = lines.at(-1)!;
    assert.equal(summary.ev, 'summary');
    assert.ok((summary.reports as number) > 0);
    const results = summary.invoke_results as Record<string, number>;
    assert.ok(
      Object.keys(results).every((k) => k === '0' || k === '-96'),
      JSON.stringify(results),
    );
    assert.ok((results['0'] ?? 0) > 700);
  } finally {
    agent.kill('SIGTERM');
    await agentExit;
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(!/Error|panic/i.test(agentOut.replace(/0 errors/g, '')), agentOut);
});

test('portus datapath synthesises ACKs as specified (loss/ecn/timeout every k, rtt steps, in-flight and rates), seen by a program', async () => {
  const dir = mkdtempSync('/tmp/ccp-dp-test-');
  const agentPath = join(dir, 'agent');
  const fields = [
    ['ba', 'Ack.bytes_acked'],
    ['pa', 'Ack.packets_acked'],
    ['bm', 'Ack.bytes_misordered'],
    ['pm', 'Ack.packets_misordered'],
    ['lost', 'Ack.lost_pkts_sample'],
    ['ep', 'Ack.ecn_packets'],
    ['eb', 'Ack.ecn_bytes'],
    ['rtt', 'Flow.rtt_sample_us'],
    ['bif', 'Flow.bytes_in_flight'],
    ['pif', 'Flow.packets_in_flight'],
    ['ro', 'Flow.rate_outgoing'],
    ['ri', 'Flow.rate_incoming'],
    ['cw', 'Cwnd'],
  ];
  const source =
    `(def (Report ${fields.map(([n]) => `(volatile ${n} 0)`).join(' ')} (volatile to 0)))\n(when true\n` +
    fields.map(([n, p]) => `  (:= Report.${n} ${p})\n`).join('') +
    '  (:= Report.to (if (&& Flow.was_timeout true) 1))\n  (report)\n)';
  const prog = compile(source, { uid: 1 });
  const agent = await openUnix({ path: agentPath });
  const reports: bigint[][] = [];
  agent.onMessage((buf, from) => {
    const m = decode(buf);
    if (m.type === 5) agent.send(encodeInstall(1, prog.events, prog.instructions), from);
    if (m.type === 0) agent.send(encodeChangeProg(m.sid, 1, []), from);
    if (m.type === 1 && m.numFields > 0) reports.push(m.fields);
  });
  try {
    const { code, lines, stderr } = await runCli([
      '--agent',
      agentPath,
      '--socket',
      join(dir, 'dp'),
      '--rate',
      '200',
      '--duration',
      '0.5',
      '--mss',
      '1000',
      '--init-cwnd',
      '20000',
      '--rtt-us',
      '5000',
      '--rtt-step-us',
      '250',
      '--loss-every',
      '5',
      '--ecn-every',
      '4',
      '--timeout-every',
      '10',
      '--log-level',
      'error',
    ]);
    assert.equal(code, 0, stderr);
    const summary = lines.at(-1)!;
    const results = summary.invoke_results as Record<string, number>;
    const skipped = results['-96'] ?? 0; // ACKs before the CHANGE_PROG arrived
    assert.equal(results['0'], 100 - skipped);
    assert.equal(reports.length, 100 - skipped);
    reports.forEach((f, i) => {
      const n = skipped + i + 1;
      const lost = n % 5 === 0;
      const ecn = n % 4 === 0;
      const rtt = 5000 + (n % 8) * 250;
      const rate = Math.floor((20000 * 1e6) / rtt);
      const want = [
        lost ? 0 : 1000,
        lost ? 0 : 1,
        lost ? 1000 : 0,
        lost ? 1 : 0,
        lost ? 1 : 0,
        ecn ? 1 : 0,
        ecn ? 1000 : 0,
        rtt,
        20000,
        20,
        rate,
        rate,
        20000,
        n % 10 === 0 ? 1 : 0,
      ].map(BigInt);
      assert.deepEqual(f, want, `ACK ${n}`);
    });
  } finally {
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
