// Compiler input limits (issue 12): size cap, non-string input, byte-order mark; and the CLI's
// bounded read (`portus compile /dev/zero` must not grow memory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CompileError, ErrorCodes, PortusError } from '../../src/errors.ts';
import { Limits, compile, parse } from '../../src/lang/index.ts';

const P =
  '(def (Report (volatile acked 0)))\n(when true\n  (:= Report.acked (+ Report.acked Ack.bytes_acked))\n  (report))';

test('a source over 1 MiB is a CompileError at 1:1 that does not keep the text', () => {
  const big = P + ' '.repeat(Limits.SOURCE_BYTES);
  for (const f of [() => compile(big), () => parse(big)]) {
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof CompileError);
      assert.equal(e.code, ErrorCodes.COMPILE);
      assert.match(e.message, /^1:1: program is larger than 1048576 bytes/);
      assert.equal(e.source, '');
      return true;
    });
  }
  // multi-byte characters count as their UTF-8 bytes
  const wide = '; ' + 'é'.repeat(Limits.SOURCE_BYTES / 2) + '\n' + P;
  assert.throws(() => compile(wide), CompileError);
  // just under the limit still compiles
  const fits = P + ' '.repeat(Limits.SOURCE_BYTES - P.length);
  assert.equal(compile(fits).instructions.length, compile(P).instructions.length);
});

test('non-string input is a typed PortusError (INVALID_ARG), not a TypeError', () => {
  for (const bad of [42, null, undefined, {}, ['(def)'], Buffer.from(P)]) {
    assert.throws(
      () => compile(bad as unknown as string),
      (e: unknown) =>
        e instanceof PortusError && e.code === ErrorCodes.INVALID_ARG && /must be a string/.test(e.message),
    );
  }
});

test('a leading UTF-8 byte-order mark is accepted and does not shift error columns', () => {
  assert.deepEqual(compile('\uFEFF' + P).instructions, compile(P).instructions);
  assert.throws(
    () => compile('\uFEFF)'),
    (e: unknown) => e instanceof CompileError && e.line === 1 && e.column === 1,
  );
});

test('portus compile reads at most 1 MiB: /dev/zero and an oversized file fail fast with a clear error', () => {
  const r = spawnSync(process.execPath, ['bin/portus.js', 'compile', '/dev/zero'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot read \/dev\/zero: larger than 1048576 bytes/);
  // a BOM file compiles
  const ok = spawnSync(process.execPath, ['bin/portus.js', 'compile', '-'], {
    input: '\uFEFF' + P,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(ok.status, 0, ok.stderr);
});
