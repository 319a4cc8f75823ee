/**
 * Sweep specifications (`portus sweep SPEC`): a JSON or YAML file naming axes (link rates or traces,
 * RTTs, buffers, loss, flow mixes...), the algorithms under test and the seeds, plus fixed settings.
 * {@link expandSpec} turns one into cells, each an ordinary simulator scenario. Format: docs/sweep.md.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { algorithmNames } from '../algorithms/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import {
  parseTrace,
  resolveScenario,
  validateScenario,
  type Scenario,
  type ScenarioFlow,
} from '../sim/index.ts';

/** The placeholder for the algorithm under test in a flow mix. */
export const ALG_UNDER_TEST = '$alg';

/** One algorithm under test: a built-in name or a file, with parameters and a label. */
export interface SweepAlgorithm {
  /** Label in results.csv and the leaderboard (default: the name, or the file's base name). */
  name: string;
  /** Built-in name (`cubic`) or algorithm file path (relative to the spec file). */
  alg: string;
  params: Record<string, string>;
}

/** One value of an axis: its label and the scenario value. */
export interface AxisValue {
  label: string;
  value: unknown;
}

/** A parsed, validated spec. */
export interface SweepSpec {
  name: string;
  /** Scenario settings common to every cell. */
  fixed: Partial<Scenario>;
  /** Axes in the order written (the first varies slowest). */
  axes: { name: string; values: AxisValue[] }[];
  algorithms: SweepAlgorithm[];
  seeds: number[];
  /** Folder of the spec file: relative traces and algorithm files are resolved against it. */
  baseDir: string;
}

/**
 * What a runner needs to run one cell, and nothing else: it is sent to worker threads and through
 * the queue, so it is plain JSON and carries the trace's text (workers need not share files with
 * the sweep, except algorithm files).
 */
export interface CellTask {
  /** Hash of the canonical scenario (and of the trace and algorithm files it uses). */
  id: string;
  scenario: Scenario;
  /** Text of the scenario's trace, when it has one (`scenario.trace` is then only its name). */
  traceText?: string | undefined;
  /** Where algorithm files named by a relative path are looked up. */
  baseDir: string;
  /** Indices of the flows (after `count` expansion) running the algorithm under test. */
  testFlows: number[];
}

/** One cell of the expanded matrix. */
export interface Cell {
  /** Position in expansion order (axes, then algorithm, then seed). */
  index: number;
  /** Axis labels of the cell's scenario, by axis name. */
  labels: Record<string, string>;
  /** The scenario group: every axis label joined (algorithm and seed excluded). */
  group: string;
  /** Label of the algorithm under test. */
  alg: string;
  seed: number;
  task: CellTask;
}

const SPEC_KEYS = new Set(['name', 'description', 'fixed', 'axes', 'algorithms', 'seeds', '$schema']);
/** Scenario keys that may be axes or fixed settings. */
const AXIS_KEYS = [
  'link',
  'trace',
  'rtt',
  'buffer',
  'duration',
  'loss',
  'ecnThreshold',
  'ipcDelay',
  'sampleInterval',
  'flows',
] as const;
const ALG_KEYS = new Set(['name', 'alg', 'params']);
/** Cells in one sweep at most: a typo in an axis should not enqueue a million simulations. */
export const MAX_CELLS = 100_000;

function fail(msg: string): never {
  throw new PortusError(ErrorCodes.SWEEP_SPEC, msg);
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/** Algorithm files are named by a path; built-ins by a bare name (as `portus sim --alg` takes them). */
export function isAlgorithmFile(alg: string): boolean {
  return alg.includes('/') || /\.(m?[jt]s|cjs|cts)$/.test(alg);
}

/** Read and parse a spec file (`.yaml`/`.yml` as YAML, anything else as JSON). */
export function loadSpec(path: string): SweepSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(`cannot read sweep spec ${path}: ${(e as Error).message}`);
  }
  const yaml = /\.ya?ml$/i.test(path);
  return parseSpec(text, { yaml, where: path, baseDir: dirname(resolve(path)) });
}

/** Parse spec text. `baseDir` anchors relative traces and algorithm files (default: cwd). */
export function parseSpec(
  text: string,
  o: { yaml?: boolean; where?: string; baseDir?: string } = {},
): SweepSpec {
  const where = o.where ?? 'sweep spec';
  let raw: unknown;
  try {
    raw = o.yaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    fail(`${where}: not valid ${o.yaml ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
  return validateSpec(raw, where, resolve(o.baseDir ?? '.'));
}

function labelOf(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
    ? String(v)
    : JSON.stringify(v);
}

function axisValues(name: string, v: unknown, where: string): AxisValue[] {
  let out: AxisValue[];
  if (Array.isArray(v)) {
    if (name === 'flows') out = v.map((x, i) => ({ label: `mix${i + 1}`, value: x }));
    else if (name === 'trace') out = v.map((x) => ({ label: basename(String(x)), value: x }));
    else out = v.map((x) => ({ label: labelOf(x), value: x }));
  } else if (isObject(v)) out = Object.entries(v).map(([label, value]) => ({ label, value }));
  else fail(`${where}: axes.${name} must be a list of values or a map of label to value`);
  if (out.length === 0) fail(`${where}: axes.${name} has no values`);
  const seen = new Set<string>();
  for (const x of out) {
    if (seen.has(x.label)) fail(`${where}: axes.${name}: label '${x.label}' appears twice`);
    seen.add(x.label);
    if (x.value === null || x.value === undefined) fail(`${where}: axes.${name}.${x.label} has no value`);
    if (name === 'flows' && (!Array.isArray(x.value) || x.value.length === 0)) {
      fail(`${where}: axes.flows.${x.label} must be a non-empty list of flow groups`);
    }
  }
  return out;
}

function parseAlgorithms(v: unknown, where: string): SweepAlgorithm[] {
  if (!Array.isArray(v) || v.length === 0) fail(`${where}: 'algorithms' must be a non-empty list`);
  const out = v.map((a: unknown, i): SweepAlgorithm => {
    if (typeof a === 'string' && a !== '') {
      return { name: isAlgorithmFile(a) ? basename(a, extname(a)) : a, alg: a, params: {} };
    }
    if (!isObject(a)) fail(`${where}: algorithms[${i}] must be a name or { name, alg, params }`);
    for (const k of Object.keys(a))
      if (!ALG_KEYS.has(k)) fail(`${where}: algorithms[${i}]: unknown key '${k}'`);
    if (typeof a.alg !== 'string' || a.alg === '')
      fail(`${where}: algorithms[${i}].alg must be an algorithm name`);
    if (a.name !== undefined && (typeof a.name !== 'string' || a.name === '')) {
      fail(`${where}: algorithms[${i}].name must be a non-empty string`);
    }
    const params: Record<string, string> = {};
    if (a.params !== undefined) {
      if (!isObject(a.params)) fail(`${where}: algorithms[${i}].params must be a map`);
      for (const [k, x] of Object.entries(a.params)) {
        if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') {
          fail(`${where}: algorithms[${i}].params.${k} must be a string or number`);
        }
        params[k] = String(x);
      }
    }
    const alg = a.alg;
    const name = (a.name as string | undefined) ?? (isAlgorithmFile(alg) ? basename(alg, extname(alg)) : alg);
    return { name, alg, params };
  });
  const names = out.map((a) => a.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) fail(`${where}: two algorithms are named '${dup}' (give each a distinct 'name')`);
  return out;
}

function parseSeeds(v: unknown, where: string): number[] {
  if (v === undefined) return [1];
  if (Number.isInteger(v) && (v as number) >= 1) return Array.from({ length: v as number }, (_, i) => i + 1);
  if (Array.isArray(v) && v.length > 0 && v.every((s) => Number.isInteger(s))) {
    if (new Set(v).size !== v.length) fail(`${where}: 'seeds' lists a seed twice`);
    return v as number[];
  }
  fail(`${where}: 'seeds' must be a positive count or a non-empty list of integers`);
}

/** Check a parsed spec's shape; unknown keys are errors (to catch typos). */
export function validateSpec(raw: unknown, where: string, baseDir: string): SweepSpec {
  if (!isObject(raw)) fail(`${where}: expected an object`);
  for (const k of Object.keys(raw)) if (!SPEC_KEYS.has(k)) fail(`${where}: unknown key '${k}'`);
  if (raw.name !== undefined && typeof raw.name !== 'string') fail(`${where}: 'name' must be a string`);
  const fixed = raw.fixed ?? {};
  if (!isObject(fixed)) fail(`${where}: 'fixed' must be a map of scenario settings`);
  for (const k of Object.keys(fixed)) {
    if (!(AXIS_KEYS as readonly string[]).includes(k)) {
      fail(`${where}: fixed.${k} is not a scenario setting a sweep can fix (${AXIS_KEYS.join(', ')})`);
    }
  }
  const axesRaw = raw.axes ?? {};
  if (!isObject(axesRaw)) fail(`${where}: 'axes' must be a map of axis name to values`);
  const axes = Object.entries(axesRaw).map(([name, v]) => {
    if (!(AXIS_KEYS as readonly string[]).includes(name)) {
      fail(
        `${where}: axes.${name} is not an axis (${AXIS_KEYS.join(', ')}; algorithms and seeds have their own keys)`,
      );
    }
    if (name in fixed) fail(`${where}: '${name}' is both fixed and an axis`);
    return { name, values: axisValues(name, v, where) };
  });
  if (axes.some((a) => a.name === 'trace') && 'link' in fixed) {
    fail(`${where}: a trace axis replaces the link rate; remove fixed.link`);
  }
  return {
    name: (raw.name as string | undefined) ?? 'sweep',
    fixed: fixed as Partial<Scenario>,
    axes,
    algorithms: parseAlgorithms(raw.algorithms, where),
    seeds: parseSeeds(raw.seeds, where),
    baseDir,
  };
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/**
 * A cell's id: the first 16 hex digits of the SHA-256 of its canonical scenario (without `name`),
 * with the trace and algorithm files it names replaced by the hashes of their contents. The same
 * simulation has the same id on every machine; editing an algorithm file changes the ids of its
 * cells, so a resumed sweep reruns them.
 */
export function cellId(sc: Scenario, contents: Record<string, string>): string {
  const { name: _name, ...rest } = sc;
  return sha256(canonicalJson({ scenario: rest, files: contents })).slice(0, 16);
}

function readCached(cache: Map<string, string>, path: string, what: string, where: string): string {
  let t = cache.get(path);
  if (t === undefined) {
    try {
      t = readFileSync(path, 'utf8');
    } catch (e) {
      fail(`${where}: cannot read ${what} ${path}: ${(e as Error).message}`);
    }
    cache.set(path, t);
  }
  return t;
}

/** Build the flows of a cell from a mix: `$alg` groups become the algorithm under test. */
function mixFlows(
  mix: unknown,
  a: SweepAlgorithm,
  where: string,
): { flows: ScenarioFlow[]; testFlows: number[] } {
  const groups: unknown[] = Array.isArray(mix) ? mix : [{ alg: ALG_UNDER_TEST }];
  const flows: ScenarioFlow[] = [];
  const testFlows: number[] = [];
  let n = 0;
  for (const g of groups) {
    if (!isObject(g)) fail(`${where}: every flow group of a mix must be an object`);
    const f = { ...g } as unknown as ScenarioFlow;
    const count = typeof f.count === 'number' ? f.count : 1;
    if (f.alg === ALG_UNDER_TEST) {
      if (f.params !== undefined)
        fail(`${where}: a '${ALG_UNDER_TEST}' flow takes its params from 'algorithms'`);
      f.alg = a.alg;
      if (Object.keys(a.params).length > 0) f.params = { ...a.params };
      for (let i = 0; i < count; i++) testFlows.push(n + i);
    }
    n += Math.max(0, Math.floor(count));
    flows.push(f);
  }
  if (testFlows.length === 0) fail(`${where}: a flow mix needs at least one '${ALG_UNDER_TEST}' flow group`);
  return { flows, testFlows };
}

/**
 * Expand a spec into its cells: every combination of axis values (first axis slowest), then every
 * algorithm, then every seed. Each cell's scenario is validated and resolved here, so a bad value
 * is reported before anything runs.
 */
export function expandSpec(spec: SweepSpec): Cell[] {
  let total = spec.algorithms.length * spec.seeds.length;
  for (const a of spec.axes) total *= a.values.length;
  if (total > MAX_CELLS) fail(`the sweep has ${total} cells, more than ${MAX_CELLS}`);
  const files = new Map<string, string>();
  const cells: Cell[] = [];
  const combo = new Array<number>(spec.axes.length).fill(0);
  const combos = total / (spec.algorithms.length * spec.seeds.length);
  for (let c = 0; c < combos; c++) {
    // odometer over the axes, last axis fastest
    let r = c;
    for (let i = spec.axes.length - 1; i >= 0; i--) {
      combo[i] = r % spec.axes[i]!.values.length;
      r = Math.floor(r / spec.axes[i]!.values.length);
    }
    const labels: Record<string, string> = {};
    const base: Record<string, unknown> = { ...spec.fixed };
    spec.axes.forEach((ax, i) => {
      const v = ax.values[combo[i]!]!;
      labels[ax.name] = v.label;
      base[ax.name] = v.value;
    });
    const group = spec.axes.map((ax) => `${ax.name}=${labels[ax.name]}`).join(', ') || spec.name;
    for (const a of spec.algorithms) {
      for (const seed of spec.seeds) {
        const where = `cell ${cells.length} (${group}, ${a.name}, seed ${seed})`;
        cells.push(makeCell(spec, base, a, seed, { index: cells.length, labels, group, where }, files));
      }
    }
  }
  return cells;
}

function makeCell(
  spec: SweepSpec,
  base: Record<string, unknown>,
  a: SweepAlgorithm,
  seed: number,
  at: { index: number; labels: Record<string, string>; group: string; where: string },
  files: Map<string, string>,
): Cell {
  const { flows, testFlows } = mixFlows(base.flows, a, at.where);
  const sc = { ...base, flows, seed, name: `${at.group} · ${a.name} · seed ${seed}` } as Scenario;
  const contents: Record<string, string> = {};
  let traceText: string | undefined;
  if (sc.trace !== undefined) {
    if (typeof sc.trace !== 'string') fail(`${at.where}: trace must be a file path`);
    traceText = readCached(files, resolve(spec.baseDir, sc.trace), 'trace', at.where);
    contents[`trace:${sc.trace}`] = sha256(traceText);
  }
  for (const f of flows) {
    if (typeof f.alg === 'string' && !isAlgorithmFile(f.alg) && !algorithmNames().includes(f.alg)) {
      fail(
        `${at.where}: unknown algorithm '${f.alg}' (built-ins: ${algorithmNames().join(', ')}; files need a path, ./my-alg.ts)`,
      );
    }
    if (typeof f.alg === 'string' && isAlgorithmFile(f.alg)) {
      contents[`alg:${f.alg}`] = sha256(
        readCached(files, resolve(spec.baseDir, f.alg), 'algorithm file', at.where),
      );
    }
  }
  try {
    validateScenario(sc, at.where);
    resolveScenario(sc, traceText === undefined ? undefined : parseTrace(traceText, String(sc.trace)));
  } catch (e) {
    fail(`${at.where}: ${(e as Error).message}`);
  }
  return {
    index: at.index,
    labels: { ...at.labels },
    group: at.group,
    alg: a.name,
    seed,
    task: { id: cellId(sc, contents), scenario: sc, traceText, baseDir: spec.baseDir, testFlows },
  };
}

/**
 * A cell's scenario as a standalone file for `portus sim`: trace and algorithm file paths made
 * absolute (they are relative to the spec's folder in the cell).
 */
export function standaloneScenario(task: CellTask): Scenario {
  const sc = structuredClone(task.scenario);
  if (typeof sc.trace === 'string') sc.trace = resolve(task.baseDir, sc.trace);
  for (const f of sc.flows) if (isAlgorithmFile(f.alg)) f.alg = resolve(task.baseDir, f.alg);
  return sc;
}
