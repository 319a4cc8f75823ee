/** In-process channel (ipc.md §3) — checklist G.77. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import { createChannel } from '../../src/ipc/index.ts';

test('[G.77] channel delivers each sent message as one unit, in order, asynchronously', async () => {
  const { agent, datapath } = createChannel();
  const got: Array<[string, string]> = [];
  agent.onMessage((buf, from) => got.push([buf.toString('hex'), from]));
  const reused = Buffer.from([1, 2, 3]);
  datapath.send(reused, 'agent');
  reused.fill(9); // the caller may reuse its buffer as soon as send returns
  datapath.send(Buffer.from([4, 5]), 'agent');
  datapath.send(new Uint8Array([6]), 'agent');
  assert.deepEqual(got, []); // not yet: delivery is asynchronous
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(got, [
    ['010203', 'channel'],
    ['0405', 'channel'],
    ['06', 'channel'],
  ]);
  const back: Array<[string, string]> = [];
  datapath.onMessage((buf, from) => back.push([buf.toString('hex'), from]));
  agent.send(Buffer.from([7]), 'channel');
  await new Promise<void>((r) => queueMicrotask(r));
  assert.deepEqual(back, [['07', 'agent']]);
});

test('[G.77] channel with { sync: true } delivers inside send; early messages wait for a handler', async () => {
  const { agent, datapath } = createChannel({ sync: true });
  datapath.send(Buffer.from([1]), 'agent'); // no handler yet: kept in order
  datapath.send(Buffer.from([2]), 'agent');
  const got: number[] = [];
  agent.onMessage((buf) => got.push(buf[0]!));
  assert.deepEqual(got, [1, 2]);
  datapath.send(Buffer.from([3]), 'agent');
  assert.deepEqual(got, [1, 2, 3]);
  await agent.close();
  datapath.send(Buffer.from([4]), 'agent'); // dropped: the agent end is closed
  assert.deepEqual(got, [1, 2, 3]);
  await datapath.close();
  assert.throws(
    () => datapath.send(Buffer.from([5]), 'agent'),
    (e: unknown) => e instanceof PortusError && e.code === ErrorCodes.IPC_SEND,
  );
});

test('channel routes a handler exception to the error handler', () => {
  const { agent, datapath } = createChannel({ sync: true });
  const errors: string[] = [];
  agent.onError!((e) => errors.push(e.message));
  agent.onMessage(() => {
    throw new Error('boom');
  });
  datapath.send(Buffer.from([1]), 'agent');
  assert.deepEqual(errors, ['boom']);
});
