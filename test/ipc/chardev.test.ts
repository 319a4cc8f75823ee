/**
 * Character-device transport (ipc.md §4) against a stand-in: two FIFOs. The transport reads the
 * "kernel → agent" FIFO (where the test, playing the kernel, writes several whole messages at
 * once, as the device's read returns them concatenated) and writes the "agent → kernel" FIFO
 * (where the test reads back each write). Checklist G.75, G.76, and the unavailability errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, constants, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import { CHAR_MAX_WRITE, openCharDevice, openTransport } from '../../src/ipc/index.ts';
import {
  encodeChangeProg,
  encodeCreate,
  encodeInstall,
  encodeMeasure,
  encodeReady,
  encodeUpdateFields,
  splitMessages,
} from '../../src/wire/index.ts';
import { fixture, isRoot, nextEvent, runNode, tempDir } from './helpers.ts';

function standIn() {
  const { dir, cleanup } = tempDir('ccpkp');
  const k2a = join(dir, 'ccpkp');
  const a2k = join(dir, 'ccpkp-in');
  execFileSync('mkfifo', ['-m', '0600', k2a, a2k]);
  // the "kernel" ends, opened first and non-blocking (O_RDWR never blocks on a FIFO)
  const kWrite = openSync(k2a, constants.O_RDWR | constants.O_NONBLOCK);
  const kRead = openSync(a2k, constants.O_RDWR | constants.O_NONBLOCK);
  const readAll = (): Buffer => {
    const buf = Buffer.alloc(65536);
    try {
      return Buffer.from(buf.subarray(0, readSync(kRead, buf)));
    } catch (e) {
      if ((e as { code?: string }).code === 'EAGAIN') return Buffer.alloc(0);
      throw e;
    }
  };
  return {
    dir,
    k2a,
    a2k,
    write: (b: Buffer) => writeSync(kWrite, b),
    readAll,
    close: () => {
      closeSync(kWrite);
      closeSync(kRead);
      cleanup();
    },
  };
}

const isSend = (re: RegExp) => (e: unknown) =>
  e instanceof PortusError && e.code === ErrorCodes.IPC_SEND && re.test(e.message);
const isUnavailable = (re: RegExp) => (e: unknown) =>
  e instanceof PortusError && e.code === ErrorCodes.IPC_UNAVAILABLE && re.test(e.message);

test('[G.75] char device: exactly one message per write; messages over 512 bytes are refused', async () => {
  const k = standIn();
  const t = await openCharDevice({ path: k.k2a, writePath: k.a2k });
  try {
    const msgs = [
      encodeUpdateFields(1, [{ regType: 2, regIndex: 4, value: 42n }]),
      encodeChangeProg(1, 7, []),
    ];
    for (const m of msgs) {
      t.send(m, 'char');
      assert.equal(k.readAll().toString('hex'), m.toString('hex'), 'the write carried exactly this message');
    }
    // 20 + 16·(E + I) ≤ 512 ⇔ E + I ≤ 30
    const ins = {
      op: 1,
      result: { type: 3, index: 0 },
      left: { type: 3, index: 0 },
      right: { type: 1, index: 1 },
    };
    const fits = encodeInstall(1, [], new Array(30).fill(ins));
    assert.equal(fits.length, 500);
    t.send(fits, 'char');
    assert.equal(k.readAll().length, 500);
    const tooBig = encodeInstall(1, [], new Array(31).fill(ins));
    assert.equal(tooBig.length, 516);
    assert.ok(tooBig.length > CHAR_MAX_WRITE);
    assert.throws(() => t.send(tooBig, 'char'), isSend(/512-byte/));
    assert.equal(k.readAll().length, 0, 'nothing was written');
  } finally {
    await t.close();
    k.close();
  }
});

test('[G.76] char device: a read of concatenated messages arrives whole and splits into each message', async () => {
  const k = standIn();
  const t = await openTransport('char', { path: k.k2a, writePath: k.a2k });
  try {
    const ready = encodeReady(0);
    const create = encodeCreate({
      sid: 1,
      initCwnd: 14480,
      mss: 1448,
      srcIp: 1,
      srcPort: 2,
      dstIp: 3,
      dstPort: 4,
      congAlg: 'reno',
    });
    const measures = Array.from({ length: 8 }, (_, i) =>
      encodeMeasure(1, 1, new Array<bigint>(10).fill(BigInt(i))),
    );
    const burst = Buffer.concat([ready, create, ...measures]); // 12 + 96 + 8·96 = 876 bytes in one read
    const got = nextEvent<{ buf: Buffer; from: string }>((fn) =>
      t.onMessage((buf, from) => fn({ buf, from })),
    );
    k.write(burst);
    const { buf, from } = await got;
    assert.equal(from, 'char');
    assert.equal(buf.toString('hex'), burst.toString('hex'));
    const { messages, error } = splitMessages(buf);
    assert.equal(error, null);
    assert.deepEqual(
      messages.map((m) => m.toString('hex')),
      [ready, create, ...measures].map((m) => m.toString('hex')),
    );
    // and the transport keeps polling: a later read arrives too
    const again = nextEvent<Buffer>((fn) => t.onMessage((b) => fn(b)));
    k.write(ready);
    assert.equal((await again).toString('hex'), ready.toString('hex'));
  } finally {
    await t.close();
    k.close();
  }
});

test('char device unavailable: missing device, not a device, no permission', async () => {
  const { dir, cleanup } = tempDir('ccpkp');
  try {
    await assert.rejects(
      openCharDevice({ path: join(dir, 'ccpkp') }),
      isUnavailable(/ccp_kernel_load ipc=1/),
    );
    const file = join(dir, 'file');
    writeFileSync(file, '');
    await assert.rejects(openCharDevice({ path: file }), isUnavailable(/neither a character device/));
    if (isRoot()) {
      chmodSync(dir, 0o755);
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', ['-m', '0600', fifo]); // root-only
      const r = await runNode(fixture('open-transport.ts'), ['char', JSON.stringify({ path: fifo })], {
        uid: 65534,
        gid: 65534,
      });
      assert.equal(r.ok, false);
      assert.equal(r.code, ErrorCodes.IPC_UNAVAILABLE);
      assert.match(String(r.message), /permission denied/);
    }
  } finally {
    cleanup();
  }
});
