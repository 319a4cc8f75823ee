// `portus … | head`: when the reader of stdout goes away, every sub-command that writes a lot ends
// quietly with status 141 (as a tool killed by SIGPIPE), never with an EPIPE stack trace.
// Real processes (node bin/portus.js) with their stdout piped to this process, which closes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { EXIT_PIPE_CLOSED } from '../../src/cli/stdout.ts';
import { silentLogger, startAgent } from '../../src/agent/index.ts';
import { aimd } from '../../src/algorithms/index.ts';
import { openUnix } from '../../src/ipc/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'portus-pipe-'));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  read: number;
}

/**
 * Run the CLI with stdout piped to us; close our end at once (`after` = 0, as `| true` does) or
 * after the first `after` bytes arrived (as `| head -c N` does).
 */
function runAndClose(args: string[], after: number): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/portus.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let read = 0;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    if (after === 0) child.stdout.destroy();
    else {
      child.stdout.on('data', (d: Buffer) => {
        read += d.length;
        if (read >= after) child.stdout.destroy();
      });
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, read });
    });
  });
}

function assertQuiet(r: Exit): void {
  assert.equal(r.signal, null);
  assert.equal(r.code, EXIT_PIPE_CLOSED, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|Error|at .*\.ts:\d+/, r.stderr);
}

test('portus sim | true: exits 141 without a stack trace', async () => {
  assertQuiet(await runAndClose(['sim', '--duration', '1s', '--no-progress'], 0));
});

test('portus compile | true: exits 141 without a stack trace', async () => {
  assertQuiet(await runAndClose(['compile', 'examples/programs/aimd.ccp'], 0));
});

test('portus sweep | true: exits 141 without a stack trace', async () => {
  const spec = join(dir, 'tiny.yaml');
  writeFileSync(spec, 'name: tiny\nfixed:\n  duration: 1s\nalgorithms: [reno]\nseeds: 1\n');
  const r = await runAndClose(
    ['sweep', spec, '--out', join(dir, 'sweep'), '--jobs', '1', '--no-progress'],
    0,
  );
  assertQuiet(r);
});

test('portus datapath --json | head -c 1: exits 141 at its next line, without a stack trace', async () => {
  const r = await runAndClose(
    [
      'datapath',
      '--json',
      '--reconnect',
      '--agent',
      join(dir, 'no-agent'),
      '--socket',
      join(dir, 'dp.sock'),
      '--flows',
      '2',
      '--duration',
      '0.5',
      '--drain-ms',
      '0',
    ],
    1,
  );
  assert.ok(r.read >= 1);
  assertQuiet(r);
});

test('portus datapath --json | head: closes every flow at the agent (real agent, unix socket) before exiting 141', async () => {
  const agentSock = join(dir, 'agent.sock');
  const agent = startAgent({
    transport: await openUnix({ path: agentSock }),
    algorithms: [aimd()],
    log: silentLogger,
  });
  const flows = 3;
  const closes: { sid: number; detail: string }[] = [];
  const created: number[] = [];
  let allClosed = (): void => {};
  const closed = new Promise<void>((r) => (allClosed = r));
  agent.onEvent((e) => {
    if (e.kind === 'flow-create') created.push(e.sid);
    if (e.kind === 'flow-close') closes.push({ sid: e.sid, detail: e.detail });
    if (closes.length === flows) allClosed();
  });
  try {
    const child = spawn(
      process.execPath,
      [
        'bin/portus.js',
        'datapath',
        '--json',
        '--agent',
        agentSock,
        '--socket',
        join(dir, 'dp-head.sock'),
        '--flows',
        String(flows),
        '--rate',
        '200',
        '--duration',
        '60',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    // As `head` does: read until every flow has started and reported, then close the pipe.
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      text += d;
      if (!child.stdout.destroyed && (text.match(/"ev":"set_cwnd"/g) ?? []).length >= flows) {
        child.stdout.destroy();
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    clearTimeout(timer);
    assert.equal(signal, null, stderr);
    assert.equal(code, EXIT_PIPE_CLOSED, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Error|at .*\.ts:\d+/, stderr);
    assert.equal(created.length, flows, 'the agent saw every flow start');
    // The closes were sent before the process exited; the agent reads them from its socket (bounded
    // wait: without them it would keep the flows until its idle timeout).
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((r) => (bound = setTimeout(r, 5000)))]);
    clearTimeout(bound);
    assert.equal(agent.stats().flows, 0, 'the agent holds no flow of the gone datapath');
    assert.deepEqual(
      closes.map((c) => c.sid).sort(),
      [...created].sort(),
      'a CLOSE for every flow reached the agent',
    );
    for (const c of closes) assert.equal(c.detail, 'datapath closed the flow');
  } finally {
    await agent.close();
  }
});
