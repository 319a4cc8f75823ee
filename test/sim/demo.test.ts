// `portus demo` as a user runs it: the agent as its own process, the simulated link and the
// datapath in real time over a real Unix socket. Real time by design; kept short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'portus.js');

function portus(args: string[], timeout: number): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('portus demo: agent process + real-time simulated link over a Unix socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portus-demo-test-'));
  try {
    const r = portus(['demo', '--duration', '3s', '--out', dir], 90_000);
    assert.equal(r.code, 0, r.err);
    const pid = Number(/agent: cubic \(pid (\d+)\) on (\S+)/.exec(r.out)?.[1]);
    assert.ok(pid > 0, r.out);
    for (const t of [1, 2, 3]) assert.match(r.out, new RegExp(`^t=\\s*${t}s\\s+flow 0: .*\\| queue`, 'm'));
    assert.match(r.out, /^0\s+cubic\s+50 ms\s+0 s\s+end\s+[\d.]+ Mbit\/s/m);
    assert.match(r.out, /^1\s+cubic\s+/m);
    // the agent really controlled the flows: it sent messages back
    const m = /(\d+) messages to it, (\d+) from it/.exec(r.out);
    assert.ok(m && Number(m[1]) > 5 && Number(m[2]) > 2, r.out);
    assert.ok(r.out.includes(`report: ${join(dir, 'report.html')}`));
    assert.ok(existsSync(join(dir, 'report.html')));
    // the agent process is gone
    assert.throws(() => process.kill(pid, 0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
