/**
 * A live dashboard of a running agent (`portus run ALG --dashboard`): overview, a sortable and
 * filterable flows table, live charts for a selected flow and for the aggregate, and the event
 * log. Served from the agent's own process over HTTP on loopback, with a random token in the URL;
 * read-only. See docs/dashboard.md.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import type { Agent } from '../agent/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import { Sampler } from './sampler.ts';
import { createHandler } from './server.ts';

export { type FlowRow, type LogEntry, type Overview, type Point } from './sampler.ts';

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** `host:port`, `host`, or `:port` / a port number. Default `127.0.0.1:0` (a free port). */
  listen?: string | number | undefined;
  /** Serve on a non-loopback address. Without it, such an address is refused. */
  allowRemote?: boolean;
  /** The URL token (default: 128 random bits). */
  token?: string;
  /** Sampling and push interval in ms, 100–10000 (default 500: 2 Hz). */
  sampleMs?: number;
  /** Page title (default "Portus agent"). */
  title?: string;
}

/** A running dashboard. */
export interface Dashboard {
  /** The URL to open, token included. */
  readonly url: string;
  readonly token: string;
  readonly host: string;
  readonly port: number;
  /**
   * Stop sampling and keep serving the last sample, with `note` shown on the page (e.g. a
   * simulated run that finished). Events that arrive later still reach the log. Idempotent.
   */
  end(note: string): void;
  /** Stop serving (closes open streams). */
  close(): Promise<void>;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** Whether `host` is a loopback name or address. */
export function isLoopback(host: string): boolean {
  if (LOOPBACK_NAMES.has(host)) return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Parse `host:port`, `[v6]:port`, `host`, `:port` or a port number. */
export function parseListen(listen: string | number | undefined): { host: string; port: number } {
  const bad = (why: string): never => {
    throw new PortusError(
      ErrorCodes.DASHBOARD,
      `--dashboard ${String(listen)}: ${why} (expected host:port, :port or host, e.g. 127.0.0.1:8080)`,
    );
  };
  if (listen === undefined || listen === '') return { host: '127.0.0.1', port: 0 };
  let host = '127.0.0.1';
  let portText = '0';
  const s = String(listen);
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    portText = v6[2] ?? '0';
  } else if (/^\d+$/.test(s)) portText = s;
  else if (s.startsWith(':')) portText = s.slice(1);
  else if (s.includes(':') && s.indexOf(':') === s.lastIndexOf(':')) {
    host = s.slice(0, s.indexOf(':'));
    portText = s.slice(s.indexOf(':') + 1);
  } else host = s;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) bad(`'${portText}' is not a port number (0–65535)`);
  if (host === '') bad('empty host');
  return { host, port };
}

/**
 * Serve the dashboard of `agent`. Refuses (`ERR_PORTUS_DASHBOARD`) a non-loopback address unless
 * `allowRemote` is set, and reports a port in use clearly.
 */
export async function startDashboard(agent: Agent, opts: DashboardOptions = {}): Promise<Dashboard> {
  const { host, port } = parseListen(opts.listen);
  const loopback = isLoopback(host);
  if (!loopback && opts.allowRemote !== true) {
    throw new PortusError(
      ErrorCodes.DASHBOARD,
      `refusing to serve the dashboard on ${host}, which is not a loopback address: anyone who can reach it ` +
        `and learns the token sees every flow. Pass --dashboard-remote (allowRemote) to do it anyway, or ` +
        `use 127.0.0.1 with an SSH tunnel`,
    );
  }
  const sampleMs = opts.sampleMs ?? 500;
  if (!Number.isFinite(sampleMs) || sampleMs < 100 || sampleMs > 10_000) {
    throw new PortusError(
      ErrorCodes.DASHBOARD,
      `sampleMs must be 100–10000 ms (at most 10 Hz), got ${sampleMs}`,
    );
  }
  const token = opts.token ?? randomBytes(16).toString('base64url');
  const sampler = new Sampler(agent);
  let hosts: ReadonlySet<string> | null = null;
  const h = createHandler({
    sampler,
    token,
    allowedHosts: () => hosts,
    title: opts.title ?? 'Portus agent',
    sampleMs,
  });
  const server: Server = createServer(h.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      sampler.close();
      reject(
        new PortusError(
          ErrorCodes.DASHBOARD,
          e.code === 'EADDRINUSE'
            ? `cannot serve the dashboard on ${host}:${port}: the port is in use (choose another, or :0 for a free one)`
            : `cannot serve the dashboard on ${host}:${port}: ${e.message}`,
          { cause: e },
        ),
      );
    });
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const boundPort = typeof addr === 'object' && addr !== null ? addr.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  if (loopback) {
    hosts = new Set(
      ['127.0.0.1', 'localhost', '[::1]', urlHost.toLowerCase()].map((x) => `${x}:${boundPort}`),
    );
  }
  sampler.sample();
  let ended: string | null = null;
  const timer = setInterval(() => {
    if (ended === null) sampler.sample();
    h.push(ended);
  }, sampleMs);
  timer.unref();
  return {
    url: `http://${urlHost}:${boundPort}/?token=${encodeURIComponent(token)}`,
    token,
    host,
    port: boundPort,
    end(note: string): void {
      ended ??= note;
    },
    async close(): Promise<void> {
      clearInterval(timer);
      sampler.close();
      h.closeClients();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
