// End to end over the character-device transport's stand-in (two FIFOs, as in test/ipc):
// `portus run aimd --ipc char` as its own process; this test plays ccp-kernel's /dev/ccpkp with
// the TypeScript libccp-compatible datapath, writing the device's "read" side (several messages
// concatenated per write, as the device returns them) and reading each agent write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createDatapath, type Connection } from '../../src/datapath/index.ts';
import { decode, MsgType, splitMessages } from '../../src/wire/index.ts';
import { exitOf, portus, tempDir } from './helpers.ts';

const MSS = 1448;

test('e2e char device (FIFO stand-in): aimd controls a flow; batched datapath messages are all handled', async () => {
  const { dir, cleanup } = tempDir();
  const k2a = join(dir, 'ccpkp');
  const a2k = join(dir, 'ccpkp-in');
  execFileSync('mkfifo', ['-m', '0600', k2a, a2k]);
  const kWrite = openSync(k2a, constants.O_RDWR | constants.O_NONBLOCK);
  const kRead = openSync(a2k, constants.O_RDWR | constants.O_NONBLOCK);
  const ag = portus([
    'run',
    'aimd',
    '--ipc',
    'char',
    '--char-device',
    k2a,
    '--char-write-path',
    a2k,
    '--debug',
    '--quiet',
  ]);
  try {
    await ag.waitFor(/^portus: running 'aimd' on char:/);
    let now = 0;
    let pending: Buffer[] = [];
    const got: number[] = [];
    let reportsSent = 0;
    const cwnds: number[] = [];
    const dp = createDatapath({
      now: () => now,
      send(msg) {
        if (msg.readUInt16LE(0) === MsgType.MEASURE && msg.length > 16) reportsSent++;
        pending.push(Buffer.from(msg));
        return 0;
      },
      setCwnd(c: Connection, b: number) {
        c.prims.sndCwnd = b;
        if (cwnds.at(-1) !== b) cwnds.push(b);
      },
      setRate() {},
    });
    // The device's read returns whole messages concatenated: flush what the datapath sent in one write.
    const flush = () => {
      if (pending.length > 0) writeSync(kWrite, Buffer.concat(pending));
      pending = [];
    };
    const buf = Buffer.alloc(65536);
    const pollAgent = () => {
      let n = 0;
      try {
        n = readSync(kRead, buf);
      } catch (e) {
        if ((e as { code?: string }).code !== 'EAGAIN') throw e;
      }
      if (n > 0) {
        for (const m of splitMessages(buf.subarray(0, n)).messages) {
          got.push(decode(m).type);
          dp.receive(m);
        }
      }
    };
    const until = async (pred: () => boolean, what: string) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        pollAgent();
        if (pred()) return;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${ag.err.join('\n')}`);
        await new Promise((r) => setImmediate(r));
      }
    };
    assert.equal(dp.init(), 0);
    // READY and two CREATEs arrive in one read
    const conns = [1, 2].map((p) =>
      dp.startConnection({
        initCwnd: 10 * MSS,
        mss: MSS,
        srcIp: 1,
        srcPort: p,
        dstIp: 3,
        dstPort: 4,
        congAlg: '',
      })!,
    );
    flush();
    await until(() => got.filter((t) => t === MsgType.CHANGE_PROG).length === 2, 'two CHANGE_PROGs');
    assert.deepEqual(got.slice(0, 3), [MsgType.INSTALL_EXPR, MsgType.CHANGE_PROG, MsgType.CHANGE_PROG]);
    const updates = () => got.filter((t) => t === MsgType.UPDATE_FIELDS).length;
    for (let i = 0; i < 150; i++) {
      now += 1000;
      const r = reportsSent;
      for (const conn of conns) {
        const cw = conn.prims.sndCwnd || 10 * MSS;
        Object.assign(conn.prims, {
          bytesAcked: MSS,
          packetsAcked: 1,
          rttSampleUs: 10_000,
          sndCwnd: cw,
          packetsInFlight: Math.floor(cw / MSS),
          bytesInFlight: cw,
        });
        dp.invoke(conn);
      }
      const u = updates();
      flush();
      if (reportsSent > r) await until(() => updates() >= u + (reportsSent - r), 'UPDATE_FIELDS');
    }
    assert.ok(cwnds.length > 10, `window updated ${cwnds.length} times`);
    assert.ok(Math.max(...cwnds) > 10 * MSS, 'aimd grew the windows');
    for (const c of conns) dp.freeConnection(c.sid);
    flush();
    await ag.waitFor(/flow 2 \(char\) closed by the datapath/, 'err');
    ag.kill('SIGINT');
    assert.equal(await exitOf(ag), 0);
  } finally {
    ag.kill('SIGKILL');
    closeSync(kWrite);
    closeSync(kRead);
    cleanup();
  }
});
