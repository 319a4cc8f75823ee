// `portus run`: resolving built-in names and algorithm files (classic and portus style).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAlgorithmFile, parseParams, resolveAlgorithm } from '../../src/cli/run.ts';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import { createTestbed } from '../../src/testing/index.ts';
import { MsgType } from '../../src/wire/index.ts';

const fx = (n: string) => fileURLToPath(new URL(`./fixtures/${n}`, import.meta.url));
const isCode = (code: string) => (e: unknown) => e instanceof PortusError && e.code === code;

test('parseParams: k=v pairs, values may contain =; anything else is a usage error', () => {
  assert.deepEqual(parseParams(['a=1', 'b=x=y', 'c=']), { a: '1', b: 'x=y', c: '' });
  assert.throws(() => parseParams(['novalue']), isCode(ErrorCodes.USAGE));
  assert.throws(() => parseParams(['=1']), isCode(ErrorCodes.USAGE));
});

test('built-in names resolve with their parameters; unknown names list the built-ins', async () => {
  assert.equal((await resolveAlgorithm('cubic', {})).name, 'cubic');
  assert.equal((await resolveAlgorithm('const', { cwnd: '5' })).name, 'const');
  assert.equal((await resolveAlgorithm('bbr', {})).name, 'bbr');
  await assert.rejects(
    resolveAlgorithm('westwood', {}),
    (e: unknown) =>
      isCode(ErrorCodes.ALGORITHM)(e) &&
      /aimd, const, reno, cubic, bbr, copa, vegas, nimbus, dctcp/.test((e as Error).message),
  );
});

test('a .ts file with a classic class as its only named export runs, with params as this.params', async () => {
  const alg = await loadAlgorithmFile(fx('classic-named.ts'), { start: '3' });
  assert.equal(alg.name, 'named-classic');
  const tb = await createTestbed({ algorithm: alg, mss: 1000 });
  const f = await tb.startFlow();
  const cp = tb.messages.find((m) => m.msg.type === MsgType.CHANGE_PROG)!.msg as {
    updates: { value: bigint }[];
  };
  assert.equal(cp.updates[0].value, 3000n);
  await f.acks(3);
  assert.equal(f.cwnd, 1000, 'Cwnd = acked of the last report');
  await tb.close();
});

test('a default-exported class implementing Algorithm is constructed with the params', async () => {
  const alg = await resolveAlgorithm(fx('class-impl.ts'), { cwnd: '12345' });
  assert.equal(alg.name, 'fixed');
  const tb = await createTestbed({ algorithm: alg });
  const f = await tb.startFlow();
  await f.ack();
  assert.equal(f.cwnd, 12345);
  await tb.close();
});

test('the examples load: classic default export and portus-style default object', async () => {
  const root = fileURLToPath(new URL('../../examples/', import.meta.url));
  assert.equal((await resolveAlgorithm(root + 'classic-aimd.ts', {})).name, 'classic-aimd');
  assert.equal((await resolveAlgorithm(root + 'portus-vegas.ts', {})).name, 'vegas-lite');
});

test('files without an algorithm, with several, or that do not load are clear errors', async () => {
  await assert.rejects(
    loadAlgorithmFile(fx('none.ts'), {}),
    (e: unknown) => isCode(ErrorCodes.ALGORITHM)(e) && /exports no algorithm/.test((e as Error).message),
  );
  await assert.rejects(
    loadAlgorithmFile(fx('two.ts'), {}),
    (e: unknown) =>
      isCode(ErrorCodes.ALGORITHM)(e) && /several algorithms \(a, b\)/.test((e as Error).message),
  );
  await assert.rejects(loadAlgorithmFile(fx('missing.ts'), {}), isCode(ErrorCodes.ALGORITHM));
});

// Spawn `portus run FILE`, wait for its start line, stop it with SIGINT; resolves to its output.
async function startAndStop(file: string, sock: string): Promise<string> {
  const bin = fileURLToPath(new URL('../../bin/portus.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'run', file, '--socket', sock, '--quiet'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const started = new Promise<void>((resolveStarted) => {
    const onData = (d: Buffer): void => {
      out += d.toString('utf8');
      if (/running '/.test(out)) resolveStarted();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  const exited = once(child, 'exit');
  await Promise.race([started, exited]);
  child.kill('SIGINT');
  await exited;
  return out;
}

test('an algorithm file outside any package (no package.json, portus not installed) loads and runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portus-alg-'));
  try {
    writeFileSync(
      join(dir, 'classic.ts'),
      `import { AlgBase, type Report } from 'portus';
export default class Lone extends AlgBase {
  static override algName = 'lone-classic';
  override onCreate(): void {}
  override onReport(_r: Report): void {}
}
`,
    );
    writeFileSync(
      join(dir, 'object.ts'),
      `import type { Algorithm } from 'portus';
const alg: Algorithm = {
  name: 'lone-object',
  datapathPrograms: () => ({ p: '(def (Report (volatile a 0))) (when true (report))' }),
  newFlow: () => ({ onReport() {} }),
};
export default alg;
`,
    );
    const classic = await startAndStop(join(dir, 'classic.ts'), join(dir, 'a.sock'));
    assert.match(classic, /running 'lone-classic'/, classic);
    const object = await startAndStop(join(dir, 'object.ts'), join(dir, 'b.sock'));
    assert.match(object, /running 'lone-object' .*programs 1=p/, object);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
