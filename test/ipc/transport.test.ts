/** `openTransport` dispatch. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import { openTransport } from '../../src/ipc/index.ts';
import type { TransportKind } from '../../src/ipc/index.ts';
import { tempDir } from './helpers.ts';

test('openTransport opens the named kind and rejects unknown kinds with USAGE', async () => {
  const { dir, cleanup } = tempDir('open');
  try {
    const t = await openTransport('unix', { path: join(dir, 'portus') });
    assert.equal(t.kind, 'unix');
    await t.close();
    await assert.rejects(
      openTransport('tcp' as TransportKind, {}),
      (e: unknown) =>
        e instanceof PortusError &&
        e.code === ErrorCodes.USAGE &&
        /unix, netlink, char or bpf/.test(e.message),
    );
  } finally {
    cleanup();
  }
});
