// The dashboard's server and sampler without a browser: address parsing, the loopback rule, the
// token, read-only methods, the Host check, paging/sorting/filtering, and error folding. The agent
// is real, on an in-process channel transport.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipv4ToRaw, portToRaw, startAgent, silentLogger, type Algorithm } from '../../src/agent/index.ts';
import { isLoopback, parseListen, startDashboard } from '../../src/dashboard/index.ts';
import { createChannel } from '../../src/ipc/index.ts';
import { encodeCreate, encodeMeasure, encodeReady } from '../../src/wire/index.ts';

const PROGRAM = `(def (Report (volatile rtt 0)))
(when true (:= Report.rtt Flow.rtt_sample_us) (report))`;

/** An algorithm whose onReport throws when the report's rtt is 13. */
const alg: Algorithm = {
  name: 'test',
  datapathPrograms: () => ({ p: PROGRAM }),
  newFlow(dp) {
    dp.setProgram('p', { Cwnd: 10_000 });
    return {
      onReport(r) {
        if (r.rtt === 13) throw new Error('unlucky rtt');
        dp.updateField('Cwnd', 20_000 + r.rtt);
      },
    };
  },
};

function setup(flows: number) {
  const { agent: agentSide, datapath: dpSide } = createChannel({ sync: true });
  const agent = startAgent({ transport: agentSide, algorithms: [alg], log: silentLogger });
  dpSide.onMessage(() => {});
  dpSide.send(encodeReady(1), 'agent');
  for (let sid = 1; sid <= flows; sid++) {
    dpSide.send(
      encodeCreate({
        sid,
        initCwnd: 14_480,
        mss: 1448,
        srcIp: ipv4ToRaw('127.0.0.1'),
        srcPort: portToRaw(40_000 + sid),
        dstIp: ipv4ToRaw('10.0.0.2'),
        dstPort: portToRaw(80),
        congAlg: 'test',
      }),
      'agent',
    );
  }
  const report = (sid: number, rtt: number): void =>
    dpSide.send(encodeMeasure(sid, 1, [BigInt(rtt)]), 'agent');
  return { agent, report };
}

test('parseListen: host:port, :port, port, [v6]:port, host; bad ports are clear errors', () => {
  assert.deepEqual(parseListen(undefined), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListen('localhost:8080'), { host: 'localhost', port: 8080 });
  assert.deepEqual(parseListen(':9000'), { host: '127.0.0.1', port: 9000 });
  assert.deepEqual(parseListen('9001'), { host: '127.0.0.1', port: 9001 });
  assert.deepEqual(parseListen('[::1]:7000'), { host: '::1', port: 7000 });
  assert.deepEqual(parseListen('0.0.0.0'), { host: '0.0.0.0', port: 0 });
  assert.throws(() => parseListen('localhost:http'), {
    code: 'ERR_PORTUS_DASHBOARD',
    message: /not a port number/,
  });
  assert.throws(() => parseListen('127.0.0.1:70000'), /not a port number/);
  assert.ok(isLoopback('127.0.0.2') && isLoopback('::1') && isLoopback('localhost'));
  assert.ok(!isLoopback('0.0.0.0') && !isLoopback('10.0.0.1'));
});

test('a non-loopback address is refused without allowRemote', async () => {
  const { agent } = setup(0);
  await assert.rejects(startDashboard(agent, { listen: '0.0.0.0:0' }), {
    code: 'ERR_PORTUS_DASHBOARD',
    message: /not a loopback address.*--dashboard-remote/s,
  });
  await assert.rejects(startDashboard(agent, { sampleMs: 50 }), /at most 10 Hz/);
  await agent.close();
});

test('token, read-only methods, Host check, and the flows query', async () => {
  const { agent, report } = setup(120);
  for (let sid = 1; sid <= 120; sid++) report(sid, 1000 + sid);
  const d = await startDashboard(agent, { listen: '127.0.0.1:0', token: 'secret-token', sampleMs: 100 });
  try {
    const base = `http://127.0.0.1:${d.port}`;
    assert.equal(d.url, `${base}/?token=secret-token`);
    assert.equal((await fetch(`${base}/`)).status, 403);
    assert.equal((await fetch(`${base}/api/flows?token=secret-tokeX`)).status, 403);
    assert.equal((await fetch(`${base}/api/stream`)).status, 403);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      assert.equal((await fetch(d.url, { method })).status, 405, method);
    }
    // DNS rebinding: a foreign Host header is refused even with the token.
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(d.url, { headers: { host: `evil.example:${d.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 421);

    const page = await fetch(d.url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await page.text(), /<meta name="portus-token" content="secret-token">/);
    assert.equal((await fetch(`${base}/assets/uplot.js?token=secret-token`)).status, 200);
    assert.equal((await fetch(`${base}/assets/nope.js?token=secret-token`)).status, 404);

    const q = async (params: string) => {
      const r = await fetch(`${base}/api/flows?token=secret-token&${params}`);
      assert.equal(r.status, 200);
      return (await r.json()) as {
        total: number;
        rows: { sid: number; rttUs: number; tuple: string; cwnd: number }[];
      };
    };
    const first = await q('');
    assert.equal(first.total, 120);
    assert.equal(first.rows.length, 50);
    assert.deepEqual(
      first.rows.slice(0, 3).map((r) => r.sid),
      [1, 2, 3],
    );
    assert.equal(first.rows[0]!.rttUs, 1001);
    assert.equal(first.rows[0]!.cwnd, 21_001);
    assert.equal(first.rows[0]!.tuple, '127.0.0.1:40001 > 10.0.0.2:80');
    const byRtt = await q('sort=rttUs&dir=desc&limit=2');
    assert.deepEqual(
      byRtt.rows.map((r) => r.sid),
      [120, 119],
    );
    const last = await q('offset=100');
    assert.equal(last.rows.length, 20);
    const filtered = await q('filter=11');
    assert.deepEqual(
      filtered.rows.map((r) => r.sid),
      [11, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119],
    );
    const bogus = await q('sort=constructor&limit=-5');
    assert.equal(bogus.rows.length, 50);
  } finally {
    await d.close();
    await agent.close();
  }
});

test('repeated algorithm errors of one flow fold into one event with a count', async () => {
  const { agent, report } = setup(2);
  const d = await startDashboard(agent, { token: 't', sampleMs: 100 });
  try {
    for (let i = 0; i < 50; i++) report(1, 13);
    report(2, 13);
    const h = (await (await fetch(`http://127.0.0.1:${d.port}/api/history?token=t`)).json()) as {
      events: { kind: string; text: string; count: number }[];
    };
    const errors = h.events.filter((e) => e.kind === 'error');
    assert.deepEqual(
      errors.map((e) => [e.text.replace(/ \(.*?\)/, ''), e.count]),
      [
        ['flow 1: onReport threw: Error: unlucky rtt', 50],
        ['flow 2: onReport threw: Error: unlucky rtt', 1],
      ],
    );
    assert.equal(agent.stats().errors, 51);
  } finally {
    await d.close();
    await agent.close();
  }
});

/** Read a Server-Sent Events stream until `until` matches the text so far. */
async function readStream(url: string, until: RegExp): Promise<string> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let text = '';
  try {
    while (!until.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
  } finally {
    ac.abort();
  }
  return text;
}

test('the stream sends the page of the table its parameters name, at once and then at most 1 Hz; end() freezes it', async () => {
  const { agent, report } = setup(30);
  for (let sid = 1; sid <= 30; sid++) report(sid, 500 + sid);
  const d = await startDashboard(agent, { token: 't', sampleMs: 100 });
  try {
    const stream = `http://127.0.0.1:${d.port}/api/stream?token=t&sort=rttUs&dir=desc&limit=3&flow=`;
    const first = await readStream(stream, /event: rows\ndata: .*\n\n(.|\n)*event: tick\ndata: .*\n\n/);
    const rows = JSON.parse(/event: rows\ndata: (.*)\n/.exec(first)![1]!) as {
      total: number;
      rows: { sid: number; key: string }[];
    };
    assert.equal(rows.total, 30);
    assert.deepEqual(
      rows.rows.map((r) => r.sid),
      [30, 29, 28],
    );
    const key = encodeURIComponent(rows.rows[0]!.key);
    // ten ticks at 10 Hz carry the table at most twice (once a second, plus the one at connect)
    const more = await readStream(stream + key, /(event: tick(.|\n)*){10}/);
    assert.equal(more.match(/event: tick/g)!.length >= 10, true);
    assert.ok(more.match(/event: rows/g)!.length <= 3, more.match(/event: rows/g)!.length + ' rows events');
    const tick = JSON.parse(/event: tick\ndata: (.*)\n/.exec(more)![1]!) as {
      ended: string | null;
      flow: { rtt: number } | null;
    };
    assert.equal(tick.ended, null);
    assert.equal(tick.flow?.rtt, 530);
    d.end('run finished');
    const after = await readStream(stream + key, /"ended":"run finished"/);
    assert.match(after, /"ended":"run finished"/);
  } finally {
    await d.close();
    await agent.close();
  }
});
