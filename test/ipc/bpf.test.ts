/** The BPF datapath transport's failure paths (the real datapath is tested in test/bpf). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import { openBpf, openTransport } from '../../src/ipc/index.ts';
import { PREBUILDS, cannotBuild, ensureBuilt } from '../bpf/net.ts';

const noBuild = cannotBuild();
const skipBuild =
  noBuild !== null && process.env.CI !== 'true' ? `cannot build the BPF datapath: ${noBuild}` : false;

const isCode = (code: string) => (e: unknown) => e instanceof PortusError && e.code === code;

test('bpf: a missing loader is IPC_UNAVAILABLE naming the build command', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portus-bpf-'));
  try {
    await assert.rejects(openTransport('bpf', { dir }), (e: unknown) => {
      assert.ok(isCode(ErrorCodes.IPC_UNAVAILABLE)(e));
      assert.match((e as Error).message, /portus-bpf-loader not found.*npm run build:bpf/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'bpf: a loader that cannot load its object reports why, as IPC_UNAVAILABLE',
  { skip: skipBuild },
  async () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'portus-bpf-'));
    try {
      copyFileSync(join(PREBUILDS, 'portus-bpf-loader'), join(dir, 'portus-bpf-loader'));
      // no .bpf.o next to it
      await assert.rejects(openBpf({ dir, variant: 'new' }), (e: unknown) => {
        assert.ok(isCode(ErrorCodes.IPC_UNAVAILABLE)(e));
        assert.match((e as Error).message, /could not be loaded: cannot open .*portus\.bpf\.o/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'bpf: the prebuilt objects and loader exist after the build (both cong_control signatures)',
  { skip: process.platform !== 'linux' && 'Linux only' },
  () => {
    ensureBuilt();
    for (const f of ['portus.bpf.o', 'portus-pre610.bpf.o', 'portus-bpf-loader']) {
      assert.ok(existsSync(join(PREBUILDS, f)), f);
    }
  },
);
