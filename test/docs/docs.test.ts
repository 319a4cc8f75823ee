// Docs that run: the checker itself, then every block of README.md and docs/*.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkDocs, checkShell, cliCommands, extractBlocks } from '../../scripts/check-docs.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

test('extractBlocks: languages, lines and the no-check / no-run / file / prelude markers', () => {
  const md = [
    '# T', // 1
    '<!-- no-run: waits for SIGINT -->', // 2
    '```ts', // 3
    'const a = 1;', // 4
    '```',
    '',
    '<!-- file: x.ts -->',
    '',
    '<!-- prelude: declare const s: string; -->',
    '```typescript',
    'export const b = s;',
    '```',
    '```sh',
    'portus sim --rtt 50ms',
    '```',
    '<!-- no-check: needs the kernel module -->',
    '```ts',
    'x',
    '```',
  ].join('\n');
  const b = extractBlocks('t.md', md);
  assert.deepEqual(
    b.map((x) => [x.lang, x.line, x.noRun, x.noCheck, x.file, x.prelude]),
    [
      ['ts', 4, 'waits for SIGINT', null, null, null],
      ['ts', 11, null, null, 'x.ts', 'declare const s: string;'],
      ['sh', 14, null, null, null, null],
      ['ts', 18, null, 'needs the kernel module', null, null],
    ],
  );
  assert.equal(b[0]!.code, 'const a = 1;\n');
});

test('checkShell: unknown sub-commands and options are problems, real ones are not', async () => {
  const [b] = extractBlocks(
    't.md',
    '```sh\n$ portus sim --rtt 50ms --link=48mbps --out out/\nnpx portus simulate\nportus run cubic --bogus\nls --all\n```\n',
  );
  assert.deepEqual(
    checkShell(b!, await cliCommands()).map((p) => `${p.line}: ${p.message}`),
    ['3: `portus simulate`: no such sub-command', '4: `portus run` has no option --bogus'],
  );
});

test('a broken block fails the check, a marked one is skipped, a missing reason is a problem', async () => {
  const dir = mkdtempSync(join(ROOT, '.scratch-doctest-'));
  try {
    mkdirSync(join(dir, 'docs'));
    writeFileSync(
      join(dir, 'docs', 'bad.md'),
      [
        '```ts',
        '// (nothing imported from the sources: this tsc run stays small)',
        'const n: string = 6 * 7;', // type error at line 3
        '```',
        '```ts',
        "throw new Error('at run time');", // runs and fails
        '```',
        '<!-- no-check: needs root -->',
        '```ts',
        'this is not TypeScript',
        '```',
        '<!-- no-run: -->',
        '```ts',
        'export {};',
        '```',
      ].join('\n'),
    );
    const { problems, summary } = await checkDocs(ROOT, { files: [join(dir, 'docs', 'bad.md')] });
    const rel = (p: { doc: string; line: number; message: string }): string =>
      `${p.line}: ${p.message.split('\n')[0]}`;
    const got = problems.map(rel);
    assert.ok(
      got.some((g) => /^3: TS2322/.test(g)),
      got.join('\n'),
    );
    assert.ok(
      got.some((g) => /^6: running the block failed/.test(g)),
      got.join('\n'),
    );
    assert.ok(
      got.some((g) => /^13: <!-- no-run: --> needs a reason/.test(g)),
      got.join('\n'),
    );
    assert.equal(got.length, 3, got.join('\n'));
    assert.match(summary, /no-check .*bad\.md:10: needs root/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every TypeScript block of README.md and docs/*.md type-checks and runs; every portus command exists', async () => {
  const { problems, summary } = await checkDocs(ROOT);
  assert.deepEqual(
    problems.map((p) => `${p.doc}:${p.line}: ${p.message}`),
    [],
    summary,
  );
});
