/**
 * A small, dependency-free SVG chart writer: line charts (time series) and labelled scatter
 * plots. Output is standalone SVG 1.1 (well-formed XML, every text escaped), sized in pixels,
 * with "nice" axis ticks, a legend and a title.
 * @module
 */

/** One line of a line chart. NaN y values break the line. */
export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Draw dashed (e.g. an aggregate drawn over the per-flow lines). */
  dashed?: boolean;
  /** An SVG dash pattern (e.g. `8 3`), so series that overlap exactly stay distinguishable. */
  dash?: string;
}

/** A vertical marker on a line chart's x axis (e.g. a flow starting). */
export interface XMarker {
  x: number;
  label: string;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  width?: number;
  height?: number;
  /** Force the y axis to start at this value (default: 0 when all data are ≥ 0). */
  yMin?: number;
  /** At most this many points per series are drawn (min/max kept per bucket; default 1500). */
  maxPoints?: number;
  /** Vertical dotted lines with a label, e.g. flow starts and stops. */
  markers?: XMarker[];
}

/** One point of a scatter plot. */
export interface ScatterPoint {
  label: string;
  x: number;
  y: number;
  /** Spread drawn as a horizontal whisker x ± xErr (e.g. the standard deviation over seeds). */
  xErr?: number;
  /** Spread drawn as a vertical whisker y ± yErr. */
  yErr?: number;
}

/** Options of {@link scatterChart}. */
export interface ScatterChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  points: ScatterPoint[];
  width?: number;
  height?: number;
  /** Draw the x axis right-to-left (delay plots in congestion-control papers: better is right). */
  invertX?: boolean;
}

/** Colours of successive series (colour-blind friendly, Okabe–Ito). */
export const PALETTE = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#F0E442',
];

/** Escape text for XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/**
 * "Nice" tick values covering [min, max] (steps of 1, 2 or 5 × 10^k), about `count` of them.
 * Returns at least two ticks; min === max is widened.
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max < min) [min, max] = [max, min];
  if (max === min) {
    const d = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= d;
    max += d;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const kLo = Math.floor(min / step + 1e-9);
  const kHi = Math.max(kLo + 1, Math.ceil(max / step - 1e-9));
  const out: number[] = [];
  // integer multiples of the step: no accumulated rounding, no endless loop when step < ulp(min)
  for (let k = kLo; k <= kHi && out.length < 1000; k++) out.push(k === 0 ? 0 : +(k * step).toPrecision(15));
  return out;
}

/** Format a tick value compactly (1.5k, 2M, 0.25). */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a === 0) return '0';
  return `${+v.toPrecision(3)}`;
}

const f2 = (v: number): string => (Math.round(v * 100) / 100).toString();

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function frame(width: number, height: number, legendRows: number): Frame {
  return { width, height, left: 64, right: width - 16, top: 36, bottom: height - 44 - legendRows * 16 };
}

function header(w: number, h: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ` +
      `font-family="system-ui, sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${w}" height="${h}" fill="#ffffff"/>`,
    `<text x="${w / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
}

function axes(
  out: string[],
  fr: Frame,
  xt: number[],
  yt: number[],
  sx: (v: number) => number,
  sy: (v: number) => number,
  xLabel: string,
  yLabel: string,
): void {
  out.push(`<g stroke="#e5e5e5" stroke-width="1">`);
  for (const v of yt)
    out.push(`<line x1="${fr.left}" y1="${f2(sy(v))}" x2="${fr.right}" y2="${f2(sy(v))}"/>`);
  for (const v of xt)
    out.push(`<line x1="${f2(sx(v))}" y1="${fr.top}" x2="${f2(sx(v))}" y2="${fr.bottom}"/>`);
  out.push(`</g>`);
  out.push(
    `<rect x="${fr.left}" y="${fr.top}" width="${fr.right - fr.left}" height="${fr.bottom - fr.top}" ` +
      `fill="none" stroke="#333333"/>`,
  );
  out.push(`<g fill="#333333">`);
  for (const v of yt) {
    out.push(
      `<text x="${fr.left - 6}" y="${f2(sy(v) + 4)}" text-anchor="end">${escapeXml(formatTick(v))}</text>`,
    );
  }
  for (const v of xt) {
    out.push(
      `<text x="${f2(sx(v))}" y="${fr.bottom + 16}" text-anchor="middle">${escapeXml(formatTick(v))}</text>`,
    );
  }
  out.push(`</g>`);
  out.push(
    `<text x="${(fr.left + fr.right) / 2}" y="${fr.bottom + 32}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
  );
  const cy = (fr.top + fr.bottom) / 2;
  out.push(
    `<text x="14" y="${cy}" text-anchor="middle" transform="rotate(-90 14 ${cy})">${escapeXml(yLabel)}</text>`,
  );
}

function legend(out: string[], fr: Frame, names: string[]): void {
  const perRow = Math.max(1, Math.floor((fr.right - fr.left) / 140));
  names.forEach((n, i) => {
    const x = fr.left + (i % perRow) * 140;
    const y = fr.bottom + 48 + Math.floor(i / perRow) * 16;
    const c = PALETTE[i % PALETTE.length];
    out.push(`<rect x="${x}" y="${y - 9}" width="12" height="10" fill="${c}"/>`);
    out.push(`<text x="${x + 16}" y="${y}">${escapeXml(n)}</text>`);
  });
}

function extent(vals: Iterable<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of vals) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo === Infinity ? [0, 1] : [lo, hi];
}

function* values(a: ArrayLike<number>): Generator<number> {
  for (let i = 0; i < a.length; i++) yield a[i]!;
}

/** Reduce a series to at most ~maxPoints points, keeping each bucket's min and max. */
function decimate(x: ArrayLike<number>, y: ArrayLike<number>, maxPoints: number): [number[], number[]] {
  const n = Math.min(x.length, y.length);
  if (n <= maxPoints)
    return [Array.from({ length: n }, (_, i) => x[i]!), Array.from({ length: n }, (_, i) => y[i]!)];
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const per = n / buckets;
  const ox: number[] = [];
  const oy: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const s = Math.floor(b * per);
    const e = Math.min(n, Math.floor((b + 1) * per));
    let iMin = -1;
    let iMax = -1;
    let gap = false;
    for (let i = s; i < e; i++) {
      const v = y[i]!;
      if (!Number.isFinite(v)) {
        gap = true;
        continue;
      }
      if (iMin < 0 || v < y[iMin]!) iMin = i;
      if (iMax < 0 || v > y[iMax]!) iMax = i;
    }
    if (iMin < 0 || gap) {
      ox.push(x[s]!);
      oy.push(NaN);
    }
    if (iMin >= 0) {
      const [a, c] = iMin <= iMax ? [iMin, iMax] : [iMax, iMin];
      ox.push(x[a]!);
      oy.push(y[a]!);
      if (c !== a) {
        ox.push(x[c]!);
        oy.push(y[c]!);
      }
    }
  }
  return [ox, oy];
}

/** Render a line chart as an SVG document. */
export function lineChart(o: LineChartOptions): string {
  const w = o.width ?? 720;
  const h0 = o.height ?? 300;
  const rows = Math.ceil(o.series.length / Math.max(1, Math.floor((w - 80) / 140)));
  const h = h0 + rows * 16;
  const fr = frame(w, h, rows);
  const [x0, x1] = extent(
    (function* () {
      for (const s of o.series) yield* values(s.x);
    })(),
  );
  const [yLo, y1] = extent(
    (function* () {
      for (const s of o.series) yield* values(s.y);
    })(),
  );
  const y0 = o.yMin !== undefined ? Math.min(o.yMin, yLo) : yLo >= 0 ? 0 : yLo;
  const xt = niceTicks(x0, x1, 8);
  const yt = niceTicks(y0, y1, 5);
  const xa = xt[0]!;
  const xb = xt[xt.length - 1]!;
  const ya = yt[0]!;
  const yb = yt[yt.length - 1]!;
  const sx = (v: number): number => fr.left + ((v - xa) / (xb - xa)) * (fr.right - fr.left);
  const sy = (v: number): number => fr.bottom - ((v - ya) / (yb - ya)) * (fr.bottom - fr.top);
  const out = header(w, h, o.title);
  axes(out, fr, xt, yt, sx, sy, o.xLabel, o.yLabel);
  o.series.forEach((s, i) => {
    const [xs, ys] = decimate(s.x, s.y, o.maxPoints ?? 1500);
    const c = PALETTE[i % PALETTE.length];
    let pts: string[] = [];
    const flush = (): void => {
      if (pts.length >= 2) {
        const pattern = s.dash ?? (s.dashed ? '6 4' : '');
        const dash = pattern !== '' ? ` stroke-dasharray="${escapeXml(pattern)}"` : '';
        out.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5"${dash} points="${pts.join(' ')}"/>`);
      } else if (pts.length === 1) {
        const [px, py] = pts[0]!.split(',');
        out.push(`<circle cx="${px}" cy="${py}" r="1.5" fill="${c}"/>`);
      }
      pts = [];
    };
    for (let k = 0; k < xs.length; k++) {
      const yv = ys[k]!;
      if (!Number.isFinite(yv) || !Number.isFinite(xs[k]!)) {
        flush();
        continue;
      }
      pts.push(`${f2(sx(xs[k]!))},${f2(sy(yv))}`);
    }
    flush();
  });
  (o.markers ?? []).forEach((m, i) => {
    if (!(m.x >= xa && m.x <= xb)) return;
    const px = f2(sx(m.x));
    out.push(
      `<line x1="${px}" y1="${fr.top}" x2="${px}" y2="${fr.bottom}" stroke="#777777" stroke-dasharray="2 3"/>`,
    );
    // labels alternate between two rows so neighbouring markers do not overprint
    out.push(
      `<text x="${f2(sx(m.x) + 3)}" y="${fr.top + 10 + (i % 2) * 11}" font-size="10">${escapeXml(m.label)}</text>`,
    );
  });
  legend(
    out,
    fr,
    o.series.map((s) => s.name),
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Render a labelled scatter plot as an SVG document (one colour per point, legend by label). */
export function scatterChart(o: ScatterChartOptions): string {
  const w = o.width ?? 720;
  const h0 = o.height ?? 360;
  const rows = Math.ceil(o.points.length / Math.max(1, Math.floor((w - 80) / 140)));
  const h = h0 + rows * 16;
  const fr = frame(w, h, rows);
  const [xd0, xd1] = extent(o.points.flatMap((p) => [p.x - (p.xErr ?? 0), p.x + (p.xErr ?? 0)]));
  const [yd0, yd1] = extent(o.points.flatMap((p) => [p.y - (p.yErr ?? 0), p.y + (p.yErr ?? 0)]));
  const xt = niceTicks(Math.min(0, xd0), xd1 * 1.1 || 1, 6);
  const yt = niceTicks(Math.min(0, yd0), yd1 * 1.1 || 1, 5);
  const xa = xt[0]!;
  const xb = xt[xt.length - 1]!;
  const ya = yt[0]!;
  const yb = yt[yt.length - 1]!;
  const sx = (v: number): number => {
    const r = (v - xa) / (xb - xa);
    return fr.left + (o.invertX ? 1 - r : r) * (fr.right - fr.left);
  };
  const sy = (v: number): number => fr.bottom - ((v - ya) / (yb - ya)) * (fr.bottom - fr.top);
  const out = header(w, h, o.title);
  axes(out, fr, xt, yt, sx, sy, o.xLabel, o.yLabel);
  o.points.forEach((p, i) => {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) return;
    const c = PALETTE[i % PALETTE.length];
    const whisker = (x1: number, y1: number, x2: number, y2: number): void => {
      out.push(
        `<line x1="${f2(sx(x1))}" y1="${f2(sy(y1))}" x2="${f2(sx(x2))}" y2="${f2(sy(y2))}" stroke="${c}"/>`,
      );
    };
    if (p.xErr !== undefined && p.xErr > 0) whisker(p.x - p.xErr, p.y, p.x + p.xErr, p.y);
    if (p.yErr !== undefined && p.yErr > 0) whisker(p.x, p.y - p.yErr, p.x, p.y + p.yErr);
    out.push(
      `<circle cx="${f2(sx(p.x))}" cy="${f2(sy(p.y))}" r="5" fill="${c}" stroke="#333333">` +
        `<title>${escapeXml(`${p.label}: ${formatTick(p.x)}, ${formatTick(p.y)}`)}</title></circle>`,
    );
    out.push(`<text x="${f2(sx(p.x) + 8)}" y="${f2(sy(p.y) - 6)}">${escapeXml(p.label)}</text>`);
  });
  legend(
    out,
    fr,
    o.points.map((p) => p.label),
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/**
 * The throughput–delay picture (as Pantheon draws it): 95th-percentile queueing delay on a reversed
 * x axis, so better is up and to the right, against throughput per flow. Simulation reports and
 * sweep leaderboards both draw it through here, so the two read the same way.
 */
export function throughputDelayChart(o: {
  title: string;
  yLabel: string;
  points: ScatterChartOptions['points'];
}): string {
  return scatterChart({
    title: o.title,
    xLabel: '95th-percentile queueing delay (ms), better →',
    yLabel: o.yLabel,
    invertX: true,
    points: o.points,
  });
}
