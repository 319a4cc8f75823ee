/**
 * The dashboard's HTTP server: one read-only page, its static assets (uPlot comes from the
 * installed npm package, so the page works offline), JSON queries for the flows table and
 * histories, and a Server-Sent Events stream pushed at the sampling rate. Every request needs the
 * token; only GET and HEAD are served; on a loopback bind the Host header must name loopback too
 * (no DNS rebinding).
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FlowRow, RowQuery, Sampler } from './sampler.ts';

const require = createRequire(import.meta.url);
/** Page assets live in `assets/dashboard/` at the package root (two levels above this file in src/ and dist/). */
const ASSET_DIR = fileURLToPath(new URL('../../assets/dashboard/', import.meta.url));

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const m = new Map<string, Asset>();
  const add = (name: string, path: string, type: string): void => {
    m.set(name, { type, body: readFileSync(path) });
  };
  add('app.js', ASSET_DIR + 'app.js', 'text/javascript; charset=utf-8');
  add('app.css', ASSET_DIR + 'app.css', 'text/css; charset=utf-8');
  add('uplot.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8');
  add('uplot.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8');
  return m;
}

const SORTABLE: ReadonlySet<string> = new Set<keyof FlowRow>([
  'sid',
  'datapath',
  'algorithm',
  'program',
  'tuple',
  'cwnd',
  'rate',
  'rttUs',
  'rps',
  'ageS',
]);

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
};

/** What the request handler needs. */
export interface HandlerOptions {
  sampler: Sampler;
  token: string;
  /** Host header values accepted (lower case, with port); null accepts any (non-loopback bind). */
  allowedHosts: () => ReadonlySet<string> | null;
  title: string;
  /** Sampling interval, ms (sent to the page). */
  sampleMs: number;
}

/** A live SSE client: its selected flow and the page of the flows table it shows. */
interface Client {
  res: ServerResponse;
  flow: string | null;
  table: RowQuery;
}

/** The flows-table query of a request's parameters (unknown or bad values fall back to defaults). */
function rowQuery(p: URLSearchParams): RowQuery {
  const sort = p.get('sort') ?? 'sid';
  const num = (k: string, d: number, max: number): number => {
    const v = Number(p.get(k) ?? d);
    return Number.isInteger(v) && v >= 0 ? Math.min(v, max) : d;
  };
  return {
    filter: (p.get('filter') ?? '').slice(0, 200),
    sort: (SORTABLE.has(sort) ? sort : 'sid') as keyof FlowRow,
    desc: p.get('dir') === 'desc',
    offset: num('offset', 0, 1e9),
    limit: num('limit', 50, 500),
  };
}

/** The request handler plus the SSE fan-out the server's timer drives. */
export function createHandler(o: HandlerOptions): {
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  push: (ended: string | null) => void;
  closeClients: () => void;
  clientCount: () => number;
} {
  const assets = loadAssets();
  const tokenBuf = Buffer.from(o.token);
  const clients = new Set<Client>();
  const html = page(o.title, o.token, o.sampleMs);
  // the table's rows go out at most once a second, the charts' points at every sample
  const tableEvery = Math.max(1, Math.round(1000 / o.sampleMs));
  let ticks = 0;

  const tokenOk = (t: string | null): boolean => {
    if (t === null) return false;
    const b = Buffer.from(t);
    return b.length === tokenBuf.length && timingSafeEqual(b, tokenBuf);
  };

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer): void => {
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  };
  const json = (res: ServerResponse, v: unknown): void =>
    send(res, 200, 'application/json', JSON.stringify(v));
  const fail = (res: ServerResponse, status: number, why: string): void =>
    send(res, status, 'text/plain; charset=utf-8', why + '\n');

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const hosts = o.allowedHosts();
    const host = (req.headers.host ?? '').toLowerCase();
    if (hosts !== null && !hosts.has(host)) return fail(res, 421, `unexpected Host '${host}'`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return fail(res, 405, 'the dashboard is read-only');
    }
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (!tokenOk(url.searchParams.get('token'))) {
      return fail(res, 403, 'missing or wrong token: open the URL the agent printed at start');
    }
    const path = url.pathname;
    if (path === '/') return send(res, 200, 'text/html; charset=utf-8', html);
    if (path.startsWith('/assets/')) {
      const a = assets.get(path.slice(8));
      return a ? send(res, 200, a.type, a.body) : fail(res, 404, 'no such asset');
    }
    if (path === '/api/flows') return json(res, o.sampler.rows(rowQuery(url.searchParams)));
    if (path === '/api/history') {
      const flow = url.searchParams.get('flow');
      return json(res, {
        aggregate: o.sampler.history(null),
        flow: flow === null ? null : o.sampler.history(flow),
        events: o.sampler.events(),
        overview: o.sampler.overview(),
      });
    }
    if (path === '/api/stream') {
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': 'text/event-stream',
        Connection: 'keep-alive',
      });
      // the stream's parameters say what the page shows; they select what is sent, nothing else
      const c: Client = { res, flow: url.searchParams.get('flow'), table: rowQuery(url.searchParams) };
      res.write(`retry: 2000\n\n`);
      writeRows(c);
      clients.add(c);
      req.on('close', () => clients.delete(c));
      return;
    }
    fail(res, 404, 'not found');
  };

  const writeRows = (c: Client): void => {
    c.res.write(`event: rows\ndata: ${JSON.stringify(o.sampler.rows(c.table))}\n\n`);
  };

  const push = (ended: string | null): void => {
    const { entries, skipped } = o.sampler.takeLog(200);
    const withRows = ticks++ % tableEvery === 0 && ended === null;
    if (clients.size === 0) return;
    const overview = o.sampler.overview();
    const aggregate = o.sampler.aggregatePoint();
    const common =
      `"overview":${JSON.stringify(overview)},"aggregate":${JSON.stringify(aggregate)},` +
      `"log":${JSON.stringify(entries)},"skipped":${skipped},"ended":${JSON.stringify(ended)}`;
    for (const c of clients) {
      const fp = c.flow === null ? null : o.sampler.flowPoint(c.flow);
      c.res.write(`event: tick\ndata: {${common},"flow":${JSON.stringify(fp)}}\n\n`);
      if (withRows) writeRows(c);
    }
  };

  const closeClients = (): void => {
    for (const c of clients) c.res.end();
    clients.clear();
  };

  return { handle, push, closeClients, clientCount: () => clients.size };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The page: static markup; app.js fills it. The token rides in a meta tag (no inline script). */
function page(title: string, token: string, sampleMs: number): string {
  const t = encodeURIComponent(token);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="portus-token" content="${escapeHtml(token)}">
<meta name="portus-sample-ms" content="${sampleMs}">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/uplot.css?token=${t}">
<link rel="stylesheet" href="/assets/app.css?token=${t}">
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><span id="status" class="status">connecting…</span></header>
<section id="overview" class="tiles" aria-label="Overview"></section>
<section class="panel">
  <h2>Flows <span id="flow-count" class="muted"></span></h2>
  <div class="controls">
    <input id="filter" type="search" placeholder="filter: sid, datapath, algorithm, program, address" size="48">
    <span id="pager"><button id="prev" type="button">‹ prev</button> <span id="page"></span> <button id="next" type="button">next ›</button></span>
  </div>
  <table id="flows"><thead><tr>
    <th data-k="sid">sid</th><th data-k="datapath">datapath</th><th data-k="algorithm">algorithm</th>
    <th data-k="program">program</th><th data-k="tuple">4-tuple</th><th data-k="cwnd">cwnd</th>
    <th data-k="rate">rate</th><th data-k="rttUs">last RTT</th><th data-k="rps">reports/s</th><th data-k="ageS">age</th>
  </tr></thead><tbody></tbody></table>
</section>
<section class="panel">
  <h2 id="flow-title">Selected flow: none (click a row)</h2>
  <div id="flow-charts" class="charts"></div>
</section>
<section class="panel">
  <h2>All flows (aggregate)</h2>
  <div id="agg-charts" class="charts"></div>
</section>
<section class="panel">
  <h2>Events</h2>
  <ol id="events" reversed></ol>
</section>
<script src="/assets/uplot.js?token=${t}"></script>
<script src="/assets/app.js?token=${t}"></script>
</body>
</html>
`;
}
