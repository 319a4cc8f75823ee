/** The BPF datapath transport's failure paths (the real datapath is tested in test/bpf). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * A stand-in loader (a real process on the real pipe) that registers nothing: it announces itself
 * like portus-bpf-loader, reads nothing for 300 ms so the agent's writes back up in the pipe,
 * then echoes every 'M' frame back. Tests the transport's framing, not the datapath.
 */
const ECHO_LOADER = `#!${process.execPath}
const out = (kind, body) => {
  const h = Buffer.alloc(5);
  h[0] = kind;
  h.writeUInt32LE(body.length, 1);
  process.stdout.write(Buffer.concat([h, body]));
};
out(0x49, Buffer.from(JSON.stringify({ name: 'echo', variant: 'none', ftoUs: 1000, maxFlows: 1 })));
setTimeout(() => {
  let pending = Buffer.alloc(0);
  process.stdin.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    let off = 0;
    while (pending.length - off >= 5) {
      const len = pending.readUInt32LE(off + 1);
      if (pending.length - off - 5 < len) break;
      if (pending[off] === 0x4d) out(0x4d, pending.subarray(off + 5, off + 5 + len));
      off += 5 + len;
    }
    pending = pending.subarray(off);
  });
  process.stdin.on('end', () => process.exit(0));
}, 300);
`;

// Bounded: a frame overwritten in the stream can corrupt a length header, and the loader would
// then wait for bytes that never come; the timeout turns that into a failure, not a hang.
test(
  'bpf: frames stay intact when the loader falls behind (the reused frame buffer)',
  { timeout: 30_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portus-bpf-'));
    writeFileSync(join(dir, 'portus-bpf-loader'), ECHO_LOADER, { mode: 0o755 });
    const t = await openBpf({ dir });
    try {
      // 4000 messages of 8–250 bytes (~0.5 MB, far beyond a pipe's 64 KiB), each a distinct
      // pattern, sent from one reused source buffer as the agent does: if the transport reused a
      // frame buffer the stream still held, echoes would come back altered.
      const n = 4000;
      const src = new Uint8Array(256);
      const sent: Buffer[] = [];
      const got: Buffer[] = [];
      const done = new Promise<void>((resolve, reject) => {
        t.onMessage((m) => {
          const i = got.length;
          got.push(Buffer.from(m));
          // fail at the first altered echo instead of waiting for all n
          if (sent[i] !== undefined && !got[i]!.equals(sent[i]!))
            reject(new Error(`message ${i} came back altered`));
          else if (got.length === n) resolve();
        });
      });
      for (let i = 0; i < n; i++) {
        const len = 8 + ((i * 37) % 243);
        for (let j = 0; j < len; j++) src[j] = (i * 7 + j) & 0xff;
        src.set([i & 0xff, (i >> 8) & 0xff], 0);
        const msg = src.subarray(0, len);
        sent.push(Buffer.from(msg));
        t.send(msg, 'bpf');
      }
      await done;
      const bad = got.findIndex((m, i) => !m.equals(sent[i]!));
      assert.equal(bad, -1, `message ${bad} came back altered`);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
