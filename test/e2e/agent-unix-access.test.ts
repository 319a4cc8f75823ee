// `portus run` access control on the unix socket: --socket-mode and --allow-uid, with a datapath
// process running as `nobody` (CI runs as root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodeReady, MsgType } from '../../src/wire/index.ts';
import { createHex, fixture, isRoot, runNode } from '../ipc/helpers.ts';
import { exitOf, portus, tempDir } from './helpers.ts';

const NOBODY = 65534;
const HELLO = [encodeReady(0).toString('hex'), createHex(1)];

test(
  'portus run: a datapath running as another uid is refused (one log line) unless --allow-uid names it',
  { skip: !isRoot() && 'needs root to run a process as nobody' },
  async () => {
    const { dir, cleanup } = tempDir();
    try {
      chmodSync(dir, 0o755);
      const theirs = join(dir, 'nobody');
      mkdirSync(theirs, { mode: 0o755 });
      chownSync(theirs, NOBODY, NOBODY);
      const sock = join(dir, 'portus');
      const peer = (name: string, expect: number) =>
        runNode(
          fixture('unix-peer.ts'),
          [JSON.stringify({ bind: join(theirs, name), to: sock, send: HELLO, expect, timeoutMs: 20_000 })],
          {
            uid: NOBODY,
            gid: NOBODY,
            timeoutMs: 30_000,
          },
        );

      const refusing = portus(['run', 'aimd', '--socket', sock, '--quiet', '--socket-mode', '666']);
      await refusing.waitFor(/^portus: running/);
      assert.equal(lstatSync(sock).mode & 0o777, 0o666);
      assert.equal((await peer('a', 0)).ok, true);
      assert.equal((await peer('b', 0)).ok, true);
      await refusing.waitFor(/rejected datagrams from uid 65534/, 'err');
      refusing.kill('SIGINT');
      assert.equal(await exitOf(refusing), 0);
      assert.equal(
        refusing.err.filter((l) => /rejected datagrams from uid 65534/.test(l)).length,
        1,
        refusing.err.join('\n'),
      );
      assert.ok(!refusing.err.some((l) => /registered/.test(l)), 'no datapath registered');

      const admitting = portus([
        'run',
        'aimd',
        '--socket',
        sock,
        '--quiet',
        '--socket-mode',
        '0666',
        '--allow-uid',
        `1,${NOBODY}`,
      ]);
      await admitting.waitFor(/^portus: running/);
      const r = await peer('c', 2); // INSTALL and CHANGE_PROG
      assert.equal(r.ok, true, String(r.error));
      const types = (r.replies as { hex: string }[]).map((x) => Buffer.from(x.hex, 'hex').readUInt16LE(0));
      assert.deepEqual(types, [MsgType.INSTALL_EXPR, MsgType.CHANGE_PROG]);
      admitting.kill('SIGINT');
      assert.equal(await exitOf(admitting), 0);
      assert.ok(!admitting.err.some((l) => /rejected/.test(l)), admitting.err.join('\n'));
    } finally {
      cleanup();
    }
  },
);

test('portus run: bad --allow-uid and --socket-mode values are usage errors', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const a = portus(['run', 'aimd', '--socket', join(dir, 'p'), '--allow-uid', 'root']);
    assert.notEqual(await exitOf(a), 0);
    assert.ok(
      a.err.some((l) => /--allow-uid expects numeric ids/.test(l)),
      a.err.join('\n'),
    );
    const b = portus(['run', 'aimd', '--socket', join(dir, 'p'), '--socket-mode', '999']);
    assert.notEqual(await exitOf(b), 0);
    assert.ok(
      b.err.some((l) => /--socket-mode expects an octal mode/.test(l)),
      b.err.join('\n'),
    );
  } finally {
    cleanup();
  }
});
