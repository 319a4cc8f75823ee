// Local sweeps on worker threads: determinism whatever --jobs, resuming, failures that stop
// nothing else (including a thread that dies), the leaderboard, and the CLI as a user runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpec, runSweep } from '../../src/sweep/index.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'portus.js');

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'portus-sweep-local-'));
  writeFileSync(
    join(dir, 'spec.yaml'),
    `name: local test
fixed: { duration: 1s, link: 12mbps, loss: 0.1% }
axes:
  rtt: [20ms, 60ms]
algorithms: [cubic, reno]
seeds: 2
`,
  );
  // an algorithm file that is not one, and one whose thread dies while loading it
  writeFileSync(join(dir, 'empty.ts'), 'export const nothing = 1;\n');
  writeFileSync(join(dir, 'dies.ts'), 'process.exit(7);\nexport default {};\n');
  writeFileSync(
    join(dir, 'mixed.yaml'),
    `fixed: { duration: 1s, link: 12mbps }
algorithms: [cubic, ./empty.ts, ./dies.ts, reno]
`,
  );
  return dir;
}

test('same spec, --jobs 1 and --jobs 2: byte-identical results.csv; a rerun reuses every cell', async () => {
  const dir = workspace();
  try {
    const spec = loadSpec(join(dir, 'spec.yaml'));
    const a = await runSweep(spec, { out: join(dir, 'a'), jobs: 1 });
    const b = await runSweep(spec, { out: join(dir, 'b'), jobs: 2 });
    assert.deepEqual([a.cells, a.ran, a.reused, a.failed], [8, 8, 0, 0]);
    const csv = readFileSync(a.resultsCsv, 'utf8');
    assert.equal(readFileSync(b.resultsCsv, 'utf8'), csv);
    const rows = csv.trim().split('\n');
    assert.equal(rows.length, 9);
    assert.match(rows[0]!, /^index,cell,scenario,rtt,alg,seed,status,alg_tput_mbps,/);
    assert.match(rows[1]!, /^0,[0-9a-f]{16},rtt=20ms,20ms,cubic,1,ok,\d+\.\d{3},/);
    // seeds differ in their random losses, so their rows differ
    assert.notEqual(rows[1]!.split(',').slice(7).join(), rows[2]!.split(',').slice(7).join());

    // resume: nothing reruns, same bytes; a missing result is run again, alone
    const progress: number[] = [];
    const again = await runSweep(spec, {
      out: join(dir, 'a'),
      jobs: 2,
      onProgress: (p) => progress.push(p.done),
    });
    assert.deepEqual([again.ran, again.reused], [0, 8]);
    assert.deepEqual(progress, []);
    assert.equal(readFileSync(again.resultsCsv, 'utf8'), csv);
    const id = rows[3]!.split(',')[1]!;
    unlinkSync(join(dir, 'a', 'cells', id, 'result.json'));
    const third = await runSweep(spec, { out: join(dir, 'a'), jobs: 2 });
    assert.deepEqual([third.ran, third.reused], [1, 7]);
    assert.equal(readFileSync(third.resultsCsv, 'utf8'), csv);

    // the leaderboard: one section per scenario, every cell linked to a report that exists
    const html = readFileSync(a.leaderboard, 'utf8');
    assert.equal((html.match(/<section /g) ?? []).length, 2);
    const links = [...html.matchAll(/href="(cells\/[0-9a-f]{16}\/report\.html)"/g)].map((m) => m[1]!);
    assert.equal(new Set(links).size, 8);
    for (const l of links) assert.ok(existsSync(join(dir, 'a', l)), l);
    assert.match(html, /<svg[^>]*>/);
    assert.ok(existsSync(join(dir, 'a', 'cells', id, 'summary.json')));

    // each cell is an ordinary scenario: portus sim on its scenario.json gives the row's numbers
    const row = rows[2]!.split(',');
    const sim = spawnSync(
      process.execPath,
      [BIN, 'sim', join(dir, 'a', 'cells', row[1]!, 'scenario.json'), '--json'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(sim.status, 0, sim.stderr);
    const j = JSON.parse(sim.stdout) as {
      scenario: { seed: number };
      summary: { linkThroughputBps: number; packets: number };
    };
    assert.equal(j.scenario.seed, 2);
    assert.equal((j.summary.linkThroughputBps / 1e6).toFixed(3), row[10]);
    assert.equal(String(j.summary.packets), row[17]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('failing cells are reported without stopping the others, even when their thread dies', async () => {
  const dir = workspace();
  try {
    const r = await runSweep(loadSpec(join(dir, 'mixed.yaml')), { out: join(dir, 'o'), jobs: 2 });
    assert.deepEqual([r.cells, r.failed], [4, 2]);
    const rows = readFileSync(r.resultsCsv, 'utf8').trim().split('\n').slice(1);
    assert.deepEqual(
      rows.map((l) => l.split(',').slice(3, 5)),
      [
        ['cubic', '1'],
        ['empty', '1'],
        ['dies', '1'],
        ['reno', '1'],
      ].map(([alg, seed]) => [alg!, seed!]),
    );
    assert.match(rows[0]!, /,ok,/);
    assert.match(rows[1]!, /,failed,.*exports no algorithm/);
    assert.match(rows[2]!, /,failed,.*worker thread died: exit code 7/);
    assert.match(rows[3]!, /,ok,/);
    const html = readFileSync(r.leaderboard, 'utf8');
    assert.match(html, /4 cells: 2 finished, 2 failed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('portus sweep CLI: plain progress lines off a terminal, exit 1 when a cell failed, usage errors', () => {
  const dir = workspace();
  try {
    const r = spawnSync(
      process.execPath,
      [BIN, 'sweep', join(dir, 'mixed.yaml'), '--out', join(dir, 'o'), '--jobs', '2'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /portus sweep: 4 cells, 0 already finished in .*, 4 to run on 2 threads/);
    assert.equal((r.stderr.match(/^\[\d\/4\] (ok|failed) [0-9a-f]{16} /gm) ?? []).length, 4);
    assert.match(
      r.stdout,
      /4 cells \(4 run now, 0 reused\), 2 failed\nresults: +.*results\.csv\nleaderboard: +.*index\.html/,
    );
    const bad = spawnSync(process.execPath, [BIN, 'sweep', join(dir, 'spec.yaml'), '--jobs', '0'], {
      encoding: 'utf8',
    });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--jobs expects a positive integer/);
    const missing = spawnSync(process.execPath, [BIN, 'sweep', join(dir, 'nope.yaml')], { encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read sweep spec/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
