/**
 * Unix datagram transport (ipc.md §1) with real sockets between real processes — checklist
 * G.71, G.72, and the unavailability errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import { DEFAULT_UNIX_PATH, openTransport, openUnix } from '../../src/ipc/index.ts';
import { rawUnixSocket } from '../../src/ipc/unix.ts';
import { encodeCreate, encodeReady, encodeUpdateFields, forEachMessage } from '../../src/wire/index.ts';
import { fixture, isRoot, nextEvent, runNode, tempDir } from './helpers.ts';

const PEER = fixture('unix-peer.ts');
const unavailable = (re: RegExp) => (e: unknown) =>
  e instanceof PortusError && e.code === ErrorCodes.IPC_UNAVAILABLE && re.test(e.message);

const READY = encodeReady(0).toString('hex');
const CREATE = encodeCreate({
  sid: 1,
  initCwnd: 14480,
  mss: 1448,
  srcIp: 1,
  srcPort: 2,
  dstIp: 3,
  dstPort: 4,
  congAlg: 'reno',
}).toString('hex');
const reply = (sid: number) =>
  encodeUpdateFields(sid, [{ regType: 2, regIndex: 4, value: 10n * BigInt(sid) }]);

test('[G.71] openUnix creates the socket directory with mode 0700 and binds the path', async () => {
  const { dir, cleanup } = tempDir('unix');
  try {
    const path = join(dir, 'ccp', 'portus');
    const t = await openUnix({ path });
    assert.equal(lstatSync(join(dir, 'ccp')).mode & 0o777, 0o700);
    assert.ok(lstatSync(path).isSocket());
    await t.close();
    assert.equal(existsSync(path), false, 'close removes the socket file');
  } finally {
    cleanup();
  }
});

test('[G.71] the default path is /tmp/ccp/portus', async () => {
  assert.equal(DEFAULT_UNIX_PATH, '/tmp/ccp/portus');
  const t = await openUnix();
  try {
    assert.ok(lstatSync('/tmp/ccp/portus').isSocket());
    const r = await (async () => {
      const got = nextEvent<string>((fn) => t.onMessage((_b, from) => fn(from)));
      const peer = runNode(PEER, [
        JSON.stringify({
          to: '/tmp/ccp/portus',
          bind: `/tmp/ccp/peer-${process.pid}`,
          send: [READY],
          expect: 0,
        }),
      ]);
      await peer;
      return got;
    })();
    assert.equal(r, `/tmp/ccp/peer-${process.pid}`);
  } finally {
    await t.close();
    rmSync(`/tmp/ccp/peer-${process.pid}`, { force: true });
  }
  assert.equal(existsSync('/tmp/ccp/portus'), false);
});

test('[G.71] a stale socket file is removed; a live one or a non-socket file is refused', async () => {
  const { dir, cleanup } = tempDir('unix');
  try {
    const path = join(dir, 'portus');
    // a stale socket: bound by a socket that was closed without removing its file
    rawUnixSocket(() => {}, path).close();
    assert.ok(lstatSync(path).isSocket());
    const t = await openUnix({ path });
    // it works: a datagram arrives
    const got = nextEvent<string>((fn) => t.onMessage((b) => fn(b.toString('hex'))));
    const s = rawUnixSocket(() => {}, join(dir, 'dp'));
    assert.equal(s.sendto(Buffer.from(READY, 'hex'), path), 0);
    assert.equal(await got, READY);
    s.close();
    // a second agent on the same live path is refused, and the first keeps its socket
    await assert.rejects(openUnix({ path }), unavailable(/in use/));
    assert.ok(lstatSync(path).isSocket());
    await t.close();
    // a regular file is never removed
    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'keep me');
    await assert.rejects(openTransport('unix', { path: file }), unavailable(/not a socket/));
    assert.equal(readFileSync(file, 'utf8'), 'keep me');
    // too long for sun_path
    await assert.rejects(openUnix({ path: join(dir, 'x'.repeat(120)) }), unavailable(/107 bytes/));
  } finally {
    cleanup();
  }
});

test(
  '[G.71] no permission to bind: a clear IPC_UNAVAILABLE error (unprivileged process)',
  { skip: !isRoot() && 'needs root to start a process as another user' },
  async () => {
    const { dir, cleanup } = tempDir('unix');
    try {
      const locked = join(dir, 'locked');
      mkdirSync(locked, { mode: 0o700 }); // owned by root: user nobody may not enter it
      chmodSync(dir, 0o755);
      const r = await runNode(
        fixture('open-transport.ts'),
        ['unix', JSON.stringify({ path: join(locked, 'portus') })],
        {
          uid: 65534,
          gid: 65534,
        },
      );
      assert.equal(r.ok, false);
      assert.equal(r.code, ErrorCodes.IPC_UNAVAILABLE);
      assert.match(String(r.message), /EACCES|permission/i);
    } finally {
      cleanup();
    }
  },
);

test('[G.72] datagrams from two sender paths are two addresses; replies go to each sender path', async () => {
  const { dir, cleanup } = tempDir('unix');
  const agentPath = join(dir, 'portus');
  const t = await openUnix({ path: agentPath });
  try {
    const seen: Array<[string, string]> = [];
    t.onMessage((buf, from) => {
      forEachMessage(buf, (b, off, type) => {
        seen.push([from, String(type)]);
        if (type === 0) t.send(reply(b.readUInt32LE(off + 4)), from); // answer each CREATE to its sender
      });
    });
    const dpA = join(dir, 'dp-a');
    const dpB = join(dir, 'dp-b');
    const createB = Buffer.from(CREATE, 'hex');
    createB.writeUInt32LE(2, 4); // sid 2
    const [a, b] = await Promise.all([
      runNode(PEER, [JSON.stringify({ bind: dpA, to: agentPath, send: [READY, CREATE], expect: 1 })]),
      runNode(PEER, [
        JSON.stringify({ bind: dpB, to: agentPath, send: [READY, createB.toString('hex')], expect: 1 }),
      ]),
    ]);
    assert.equal(a.ok, true, String(a.error));
    assert.equal(b.ok, true, String(b.error));
    assert.deepEqual(a.replies, [{ hex: reply(1).toString('hex'), from: agentPath }]);
    assert.deepEqual(b.replies, [{ hex: reply(2).toString('hex'), from: agentPath }]);
    assert.deepEqual(new Set(seen.map(([from]) => from)), new Set([dpA, dpB]));
    assert.equal(seen.filter(([from]) => from === dpA).length, 2);
    assert.equal(seen.filter(([from]) => from === dpB).length, 2);
  } finally {
    await t.close();
    cleanup();
  }
});

test('[G.72] garbage, empty and unaddressed datagrams do not break the transport', async () => {
  const { dir, cleanup } = tempDir('unix');
  const agentPath = join(dir, 'portus');
  const t = await openUnix({ path: agentPath });
  try {
    const received: string[] = [];
    const errors: string[] = [];
    t.onError!((e) => errors.push(e.message));
    t.onMessage((buf, from) => {
      received.push(buf.toString('hex'));
      if (buf.toString('hex') === READY) t.send(Buffer.from('ok'), from);
    });
    // an unbound sender: the datagram has no reply address and is dropped (with an error report)
    const anon = rawUnixSocket(() => {});
    assert.equal(anon.sendto(Buffer.from([1, 2, 3]), agentPath), 0);
    anon.close();
    const junk = ['ff', 'deadbeef'.repeat(100), '', '0100ffff00000000'];
    const r = await runNode(PEER, [
      JSON.stringify({ bind: join(dir, 'dp'), to: agentPath, send: [...junk, READY], expect: 1 }),
    ]);
    assert.equal(r.ok, true, String(r.error));
    assert.deepEqual(r.replies, [{ hex: Buffer.from('ok').toString('hex'), from: agentPath }]);
    // everything non-empty with an address arrived, as bytes, in order; the empty datagram is skipped
    assert.deepEqual(received, ['ff', 'deadbeef'.repeat(100), '0100ffff00000000', READY]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /unnamed sender/);
  } finally {
    await t.close();
    cleanup();
  }
});

test('unix send errors are PortusError(IPC_SEND): gone peer (path or abstract), no destination', async () => {
  const { dir, cleanup } = tempDir('unix');
  const t = await openUnix({ path: join(dir, 'portus') });
  try {
    const isSend = (re: RegExp) => (e: unknown) =>
      e instanceof PortusError && e.code === ErrorCodes.IPC_SEND && re.test(e.message);
    assert.throws(() => t.send(Buffer.from([1]), join(dir, 'nobody')), isSend(/ENOENT|ECONNREFUSED/));
    assert.throws(() => t.send(Buffer.from([1]), '\0portus-nobody-here'), isSend(/ECONNREFUSED/));
    assert.throws(() => t.send(Buffer.from([1]), ''), isSend(/no destination/));
  } finally {
    await t.close();
    cleanup();
  }
  // the peer option is the default destination
  const { dir: d2, cleanup: c2 } = tempDir('unix');
  try {
    const got = [] as string[];
    const dp = await openUnix({ path: join(d2, 'dp') });
    dp.onMessage((b) => got.push(b.toString('hex')));
    const arrived = nextEvent<void>((fn) => dp.onMessage((b) => (got.push(b.toString('hex')), fn())));
    const ag = await openUnix({ path: join(d2, 'agent'), peer: join(d2, 'dp') });
    ag.send(Buffer.from([0xab]), '');
    await arrived;
    assert.deepEqual(got, ['ab']);
    await ag.close();
    await dp.close();
  } finally {
    c2();
  }
});

test('[G.72] a burst larger than the receiver queue (max_dgram_qlen) is delivered completely and in order', async () => {
  const { dir, cleanup } = tempDir('unix');
  const agentPath = join(dir, 'portus');
  const t = await openUnix({ path: agentPath });
  try {
    const N = 2000;
    const errors: string[] = [];
    t.onError!((e) => errors.push(e.message));
    t.onMessage((_buf, from) => {
      // 2000 sends in one synchronous loop: far more than the 10 datagrams a unix socket queues
      const out = Buffer.alloc(64);
      for (let sid = 0; sid < N; sid++) t.send(encodeUpdateFields(sid, [], out), from);
    });
    const r = await runNode(PEER, [
      JSON.stringify({ bind: join(dir, 'dp'), to: agentPath, send: [READY], expect: N }),
    ]);
    assert.equal(r.ok, true, String(r.error));
    const sids = (r.replies as Array<{ hex: string }>).map((x) => Buffer.from(x.hex, 'hex').readUInt32LE(4));
    assert.deepEqual(
      sids,
      Array.from({ length: N }, (_, i) => i),
    );
    assert.deepEqual(errors, []);
  } finally {
    await t.close();
    cleanup();
  }
});

test('[G.71] an existing socket directory that others may write to (no sticky bit) is refused', async () => {
  const { dir, cleanup } = tempDir('unix');
  try {
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777); // writable by everyone, no sticky bit
    await assert.rejects(
      openUnix({ path: join(shared, 'portus') }),
      unavailable(/refusing to use the socket directory .*shared: it is writable by other users/),
    );
    chmodSync(shared, 0o1777); // sticky, like /tmp: others cannot replace our socket
    const t1 = await openUnix({ path: join(shared, 'portus') });
    await t1.close();
    const mine = join(dir, 'mine');
    mkdirSync(mine, { mode: 0o700 });
    const t2 = await openUnix({ path: join(mine, 'portus') });
    await t2.close();
  } finally {
    cleanup();
  }
});

test('a throwing receive handler is reported through onError and the transport keeps receiving', async () => {
  const { dir, cleanup } = tempDir('unix');
  const agentPath = join(dir, 'portus');
  const t = await openUnix({ path: agentPath });
  const s = rawUnixSocket(() => {}, join(dir, 'dp'));
  try {
    const errors: string[] = [];
    t.onError!((e) => errors.push(e.message));
    const seen: number[] = [];
    const second = nextEvent<void>((done) =>
      t.onMessage((buf) => {
        seen.push(buf[0]!);
        if (buf[0] === 1) throw new Error('handler bug');
        done();
      }),
    );
    assert.equal(s.sendto(Buffer.from([1]), agentPath), 0);
    assert.equal(s.sendto(Buffer.from([2]), agentPath), 0);
    await second;
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(errors, ['handler bug']);
  } finally {
    s.close();
    await t.close();
    cleanup();
  }
});
