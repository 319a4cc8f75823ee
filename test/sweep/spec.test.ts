// Sweep specs: parsing (JSON and YAML), expansion into cells, cell ids, and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPortusError, ErrorCodes } from '../../src/errors.ts';
import { canonicalJson, cellId, expandSpec, loadSpec, parseSpec } from '../../src/sweep/index.ts';

const YAML = `
name: t
fixed: { duration: 2s, buffer: 1bdp }
axes:
  link: [12mbps, 24mbps]
  rtt: { short: 20ms, long: 80ms }
  flows:
    solo: [{ alg: $alg }]
    vs-reno: [{ alg: $alg, count: 2 }, { alg: reno, rtt: 40ms }]
algorithms:
  - cubic
  - { name: const-20, alg: const, params: { cwnd: 20 } }
seeds: 3
`;

test('YAML spec expands axes (first slowest), then algorithms, then seeds', () => {
  const spec = parseSpec(YAML, { yaml: true });
  const cells = expandSpec(spec);
  assert.equal(cells.length, 2 * 2 * 2 * 2 * 3);
  assert.deepEqual(
    cells.slice(0, 7).map((c) => [c.group, c.alg, c.seed]),
    [
      ['link=12mbps, rtt=short, flows=solo', 'cubic', 1],
      ['link=12mbps, rtt=short, flows=solo', 'cubic', 2],
      ['link=12mbps, rtt=short, flows=solo', 'cubic', 3],
      ['link=12mbps, rtt=short, flows=solo', 'const-20', 1],
      ['link=12mbps, rtt=short, flows=solo', 'const-20', 2],
      ['link=12mbps, rtt=short, flows=solo', 'const-20', 3],
      ['link=12mbps, rtt=short, flows=vs-reno', 'cubic', 1],
    ],
  );
  assert.deepEqual(
    cells.map((c) => c.index),
    cells.map((_, i) => i),
  );
  const last = cells.at(-1)!;
  assert.equal(last.group, 'link=24mbps, rtt=long, flows=vs-reno');
  assert.deepEqual(last.labels, { link: '24mbps', rtt: 'long', flows: 'vs-reno' });
  // $alg groups become the algorithm under test, with its params; competitors stay
  assert.deepEqual(last.task.scenario.flows, [
    { alg: 'const', count: 2, params: { cwnd: '20' } },
    { alg: 'reno', rtt: '40ms' },
  ]);
  assert.deepEqual(last.task.testFlows, [0, 1]);
  assert.equal(last.task.scenario.rtt, '80ms');
  assert.equal(last.task.scenario.seed, 3);
  assert.equal(last.task.scenario.duration, '2s');
  // ids: distinct per distinct scenario
  assert.equal(new Set(cells.map((c) => c.task.id)).size, cells.length);
});

test('the same spec as JSON gives the same cells and ids', () => {
  const json = JSON.stringify({
    name: 't',
    fixed: { duration: '2s', buffer: '1bdp' },
    axes: {
      link: ['12mbps', '24mbps'],
      rtt: { short: '20ms', long: '80ms' },
      flows: {
        solo: [{ alg: '$alg' }],
        'vs-reno': [
          { alg: '$alg', count: 2 },
          { alg: 'reno', rtt: '40ms' },
        ],
      },
    },
    algorithms: ['cubic', { name: 'const-20', alg: 'const', params: { cwnd: 20 } }],
    seeds: [1, 2, 3],
  });
  const a = expandSpec(parseSpec(YAML, { yaml: true }));
  const b = expandSpec(parseSpec(json));
  assert.deepEqual(
    a.map((c) => c.task.id),
    b.map((c) => c.task.id),
  );
});

test('cell id: a hash of the canonical scenario, blind to key order and name, sensitive to values', () => {
  const sc = { flows: [{ alg: 'cubic' }], link: '12mbps', rtt: '20ms', seed: 1 };
  const id = cellId(sc, {});
  assert.match(id, /^[0-9a-f]{16}$/);
  assert.equal(
    cellId({ seed: 1, rtt: '20ms', link: '12mbps', flows: [{ alg: 'cubic' }], name: 'x' }, {}),
    id,
  );
  assert.notEqual(cellId({ ...sc, seed: 2 }, {}), id);
  assert.notEqual(cellId(sc, { 'alg:./a.ts': 'abc' }), id);
  assert.equal(canonicalJson({ b: [1, { d: 2, c: 'x' }], a: null }), '{"a":null,"b":[1,{"c":"x","d":2}]}');
});

test('traces and algorithm files resolve against the spec folder; their contents are part of the id', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portus-sweep-spec-'));
  try {
    writeFileSync(join(dir, 'a.trace'), '1\n2\n3\n4\n');
    writeFileSync(join(dir, 'b.trace'), '1\n1\n2\n2\n');
    writeFileSync(join(dir, 'mine.ts'), 'export default {};\n');
    const write = (): void =>
      writeFileSync(
        join(dir, 'spec.yaml'),
        'fixed: { duration: 1s }\naxes:\n  trace: [a.trace, b.trace]\nalgorithms: [./mine.ts]\n',
      );
    write();
    const cells = expandSpec(loadSpec(join(dir, 'spec.yaml')));
    assert.equal(cells.length, 2);
    assert.deepEqual(
      cells.map((c) => [c.labels.trace, c.alg]),
      [
        ['a.trace', 'mine'],
        ['b.trace', 'mine'],
      ],
    );
    assert.equal(cells[0]!.task.traceText, '1\n2\n3\n4\n');
    assert.equal(cells[0]!.task.baseDir, dir);
    writeFileSync(join(dir, 'mine.ts'), 'export default { changed: true };\n');
    const again = expandSpec(loadSpec(join(dir, 'spec.yaml')));
    assert.notEqual(again[0]!.task.id, cells[0]!.task.id, 'editing the algorithm changes the id');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const bad: [string, string, RegExp][] = [
  ['not YAML', 'axes: [unclosed', /not valid YAML/],
  ['unknown top-level key', 'algorithms: [cubic]\naxis: {}', /unknown key 'axis'/],
  ['no algorithms', 'axes: { rtt: [20ms] }', /'algorithms' must be a non-empty list/],
  ['unknown axis', 'algorithms: [cubic]\naxes: { speed: [1] }', /axes.speed is not an axis/],
  ['empty axis', 'algorithms: [cubic]\naxes: { rtt: [] }', /axes.rtt has no values/],
  [
    'fixed and axis',
    'algorithms: [cubic]\nfixed: { rtt: 1ms }\naxes: { rtt: [2ms] }',
    /both fixed and an axis/,
  ],
  ['bad unit', 'algorithms: [cubic]\naxes: { rtt: [20ms, 20 parsecs] }', /cell 1 .*rtt=20 parsecs/],
  ['unknown algorithm', 'algorithms: [warp-drive]', /cell 0 .*warp-drive/],
  [
    'mix without $alg',
    'algorithms: [cubic]\naxes: { flows: { x: [{ alg: reno }] } }',
    /at least one '\$alg'/,
  ],
  ['duplicate names', 'algorithms: [cubic, { alg: cubic }]', /two algorithms are named 'cubic'/],
  ['bad seeds', 'algorithms: [cubic]\nseeds: [1, 1]', /lists a seed twice/],
  ['bad seeds type', 'algorithms: [cubic]\nseeds: many', /'seeds' must be/],
  ['too many cells', 'algorithms: [cubic]\nseeds: 200000', /more than 100000/],
  ['missing trace', 'algorithms: [cubic]\naxes: { trace: [nope.trace] }', /cannot read trace/],
  ['not an object', '- 1\n- 2', /expected an object/],
];
for (const [what, text, re] of bad) {
  test(`bad spec (${what}) is a typed SWEEP_SPEC error naming the problem`, () => {
    assert.throws(
      () => expandSpec(parseSpec(text, { yaml: true, baseDir: tmpdir() })),
      (e: unknown) => isPortusError(e) && e.code === ErrorCodes.SWEEP_SPEC && re.test(e.message),
    );
  });
}
