/**
 * Unix transport security (docs/ipc.md, "Security model") with real sockets and real processes:
 * abstract addresses, sender credentials (a process running as `nobody`), the socket file's
 * mode whatever the umask, and unsafe socket directories.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import { openUnix } from '../../src/ipc/index.ts';
import { encodeReady } from '../../src/wire/index.ts';
import { fixture, isRoot, nextEvent, runNode, tempDir } from './helpers.ts';

const PEER = fixture('unix-peer.ts');
const READY = encodeReady(0).toString('hex');
const NOBODY = 65534;
const OK = Buffer.from('ok').toString('hex');
const unavailable = (re: RegExp) => (e: unknown) =>
  e instanceof PortusError && e.code === ErrorCodes.IPC_UNAVAILABLE && re.test(e.message);

test('abstract-namespace addresses: the agent binds one, a datapath on another gets its reply', async () => {
  const agentAddr = `\0portus-test-agent-${process.pid}`;
  const dpAddr = `\0portus-test-dp-${process.pid}`;
  const t = await openUnix({ path: agentAddr });
  try {
    const froms: string[] = [];
    t.onMessage((_buf, from) => {
      froms.push(from);
      t.send(Buffer.from('ok'), from);
    });
    const r = await runNode(PEER, [
      JSON.stringify({ bind: dpAddr, to: agentAddr, send: [READY], expect: 1 }),
    ]);
    assert.equal(r.ok, true, String(r.error));
    assert.deepEqual(froms, [dpAddr]);
    assert.deepEqual(r.replies, [{ hex: OK, from: agentAddr }]);
  } finally {
    await t.close();
  }
});

test('the socket file is mode 0600 even with umask 000; socketMode chooses another mode', async () => {
  const { dir, cleanup } = tempDir('unix-sec');
  const old = process.umask(0o000);
  try {
    const t = await openUnix({ path: join(dir, 'portus') });
    assert.equal(lstatSync(join(dir, 'portus')).mode & 0o777, 0o600);
    await t.close();
    const t2 = await openUnix({ path: join(dir, 'portus'), socketMode: 0o660 });
    assert.equal(lstatSync(join(dir, 'portus')).mode & 0o777, 0o660);
    await t2.close();
    await assert.rejects(openUnix({ path: join(dir, 'portus'), socketMode: 0o7777 }), unavailable(/mode/));
  } finally {
    process.umask(old);
    cleanup();
  }
});

test(
  'a socket directory owned by another user refuses to start, with a clear message',
  { skip: !isRoot() && 'needs root to chown' },
  async () => {
    const { dir, cleanup } = tempDir('unix-sec');
    try {
      const foreign = join(dir, 'ccp');
      mkdirSync(foreign, { mode: 0o700 });
      chownSync(foreign, NOBODY, NOBODY);
      await assert.rejects(
        openUnix({ path: join(foreign, 'portus') }),
        unavailable(/refusing to use the socket directory .*ccp: it is owned by another user \(uid 65534\)/),
      );
    } finally {
      cleanup();
    }
  },
);

test(
  'a sender running as another uid is rejected (one log line) while legitimate datapaths are served; allowUids admits it',
  { skip: !isRoot() && 'needs root to run a process as nobody' },
  async () => {
    const { dir, cleanup } = tempDir('unix-sec');
    try {
      chmodSync(dir, 0o755);
      const theirs = join(dir, 'nobody');
      mkdirSync(theirs, { mode: 0o755 });
      chownSync(theirs, NOBODY, NOBODY);
      const agentPath = join(dir, 'portus');
      // the socket file is writable by everyone here, so only the credential check stands between
      const t = await openUnix({ path: agentPath, socketMode: 0o666 });
      const errors: PortusError[] = [];
      const froms: string[] = [];
      try {
        t.onError!((e) => errors.push(e as PortusError));
        t.onMessage((_buf, from) => {
          froms.push(from);
          t.send(Buffer.from('ok'), from);
        });
        const nobodyPeer = {
          bind: join(theirs, 'dp'),
          to: agentPath,
          send: [READY, READY, READY],
          expect: 0,
        };
        const rejected = await runNode(PEER, [JSON.stringify(nobodyPeer)], { uid: NOBODY, gid: NOBODY });
        assert.equal(rejected.ok, true, String(rejected.error)); // its sends went through the socket file
        // a legitimate datapath (our uid) is served; its datagram comes after nobody's in the queue
        const mine = await runNode(PEER, [
          JSON.stringify({ bind: join(dir, 'dp'), to: agentPath, send: [READY], expect: 1 }),
        ]);
        assert.equal(mine.ok, true, String(mine.error));
        assert.deepEqual(froms, [join(dir, 'dp')]);
        assert.equal(errors.length, 1, errors.map((e) => e.message).join('\n'));
        assert.equal(errors[0]!.code, ErrorCodes.IPC_PEER);
        assert.match(
          errors[0]!.message,
          /rejected datagrams from uid 65534 \(gid 65534, pid \d+, address .*nobody\/dp\)/,
        );
      } finally {
        await t.close();
      }

      const t2 = await openUnix({ path: agentPath, socketMode: 0o666, allowUids: [NOBODY] });
      try {
        const served = nextEvent<string>((fn) =>
          t2.onMessage((_buf, from) => {
            t2.send(Buffer.from('ok'), from);
            fn(from);
          }),
        );
        const admitted = await runNode(
          PEER,
          [JSON.stringify({ bind: join(theirs, 'dp2'), to: agentPath, send: [READY], expect: 1 })],
          { uid: NOBODY, gid: NOBODY },
        );
        assert.equal(admitted.ok, true, String(admitted.error));
        assert.equal(await served, join(theirs, 'dp2'));
        assert.deepEqual(admitted.replies, [{ hex: OK, from: agentPath }]);
      } finally {
        await t2.close();
      }
    } finally {
      cleanup();
    }
  },
);

test(
  'an unprivileged agent whose send buffer is capped by net.core.wmem_max says so in one line',
  { skip: !isRoot() && 'needs root to run a process as nobody' },
  async () => {
    const wmemMax = Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8'));
    const asked = 32 << 20;
    const r = await runNode(
      fixture('open-transport.ts'),
      ['unix', JSON.stringify({ path: `\0portus-test-sndbuf-${process.pid}`, sndbuf: asked })],
      { uid: NOBODY, gid: NOBODY },
    );
    assert.equal(r.ok, true, String(r.message));
    const warnings = r.warnings as string[];
    if (2 * wmemMax >= asked) {
      assert.deepEqual(warnings, [], 'no cap below what was asked: nothing to say');
    } else {
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0]!,
        new RegExp(
          `asked for 32 MiB, got .* MiB \\(capped by net\\.core\\.wmem_max = ${wmemMax}\\).*sysctl -w net\\.core\\.wmem_max=${asked}`,
        ),
      );
    }
    // root may exceed the cap (SO_SNDBUFFORCE): no line
    const asRoot = await runNode(fixture('open-transport.ts'), [
      'unix',
      JSON.stringify({ path: `\0portus-test-sndbuf-root-${process.pid}`, sndbuf: asked }),
    ]);
    assert.deepEqual(asRoot.warnings, []);
  },
);
