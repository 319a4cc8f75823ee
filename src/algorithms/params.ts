/**
 * Parsing of algorithm parameters (`--param k=v`): every algorithm declares the names it accepts;
 * unknown names and malformed values are clear `ALGORITHM` errors.
 * @module
 */
import { ErrorCodes, PortusError } from '../errors.ts';

/** Raw parameters as given on the command line. */
export type Params = Readonly<Record<string, string>>;

/** Throw unless every key of `params` is in `allowed`. */
export function checkParams(alg: string, params: Params, allowed: readonly string[]): void {
  for (const k of Object.keys(params)) {
    if (!allowed.includes(k)) {
      throw new PortusError(
        ErrorCodes.ALGORITHM,
        `${alg}: unknown parameter '${k}' (accepted: ${allowed.length ? allowed.join(', ') : 'none'})`,
      );
    }
  }
}

/** A non-negative number parameter, or `def` when absent. */
export function numParam(alg: string, params: Params, name: string, def: number): number;
export function numParam(alg: string, params: Params, name: string, def?: undefined): number | undefined;
export function numParam(alg: string, params: Params, name: string, def?: number): number | undefined {
  const raw = params[name];
  if (raw === undefined) return def;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0) {
    throw new PortusError(
      ErrorCodes.ALGORITHM,
      `${alg}: parameter ${name} must be a non-negative number, got '${raw}'`,
    );
  }
  return v;
}

/** A boolean flag parameter: absent → false; 'true'/'1'/'' → true; 'false'/'0' → false. */
export function boolParam(alg: string, params: Params, name: string): boolean {
  const raw = params[name];
  if (raw === undefined) return false;
  if (raw === '' || raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new PortusError(
    ErrorCodes.ALGORITHM,
    `${alg}: parameter ${name} must be true or false, got '${raw}'`,
  );
}

/**
 * A number parameter within [min, max] (`minExclusive`: the lower bound itself is refused), or
 * `def` when absent. Throws `ALGORITHM` naming the accepted range.
 */
export function rangeParam(
  alg: string,
  params: Params,
  name: string,
  def: number,
  min: number,
  max: number,
  minExclusive = false,
): number {
  const raw = params[name];
  if (raw === undefined) return def;
  const v = Number(raw);
  const ok = raw.trim() !== '' && Number.isFinite(v) && (minExclusive ? v > min : v >= min) && v <= max;
  if (!ok) {
    const range = `${minExclusive ? '(' : '['}${min}, ${max === Infinity ? '∞)' : `${max}]`}`;
    throw new PortusError(
      ErrorCodes.ALGORITHM,
      `${alg}: parameter ${name} must be a number in ${range}, got '${raw}'`,
    );
  }
  return v;
}

/** One of a fixed set of string values (case-insensitive), or `def` when absent. */
export function choiceParam<T extends string>(
  alg: string,
  params: Params,
  name: string,
  choices: readonly T[],
  def: T,
): T {
  const raw = params[name];
  if (raw === undefined) return def;
  const v = choices.find((c) => c.toLowerCase() === raw.toLowerCase());
  if (v === undefined) {
    throw new PortusError(
      ErrorCodes.ALGORITHM,
      `${alg}: parameter ${name} must be one of ${choices.join(', ')}, got '${raw}'`,
    );
  }
  return v;
}
