/**
 * Const, as ccp-project/const (spec algorithms.md §7.1): at flow start set either a fixed Cwnd, or
 * a fixed Rate with a Cwnd cap; afterwards only observe reports. Units as the original: packets
 * of 1500 bytes (not the MSS) and Mbit/s.
 * @module
 */
import type { Algorithm, DatapathHandle, Flow } from '../agent/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import { checkParams, numParam, type Params } from './params.ts';
import { CONSTANT_PROG } from './programs.ts';

const PKT = 1500;

/**
 * Parameters: `cwnd` (packets) — or `rate` (Mbit/s) together with `cwnd_cap` (packets).
 * Exactly one of `cwnd` and `rate` is required.
 */
export function constAlg(params: Params = {}): Algorithm {
  checkParams('const', params, ['cwnd', 'rate', 'cwnd_cap']);
  const cwndPkts = numParam('const', params, 'cwnd');
  const rateMbps = numParam('const', params, 'rate');
  const capPkts = numParam('const', params, 'cwnd_cap');
  let fields: Record<string, number>;
  if (cwndPkts !== undefined && rateMbps === undefined) {
    if (capPkts !== undefined) {
      throw new PortusError(ErrorCodes.ALGORITHM, 'const: cwnd_cap goes with rate, not with cwnd');
    }
    fields = { Cwnd: Math.floor(cwndPkts * PKT) };
  } else if (rateMbps !== undefined && cwndPkts === undefined) {
    if (capPkts === undefined) {
      throw new PortusError(ErrorCodes.ALGORITHM, 'const: rate needs cwnd_cap (packets) as well');
    }
    fields = { Cwnd: Math.floor(capPkts * PKT), Rate: Math.floor((rateMbps * 1e6) / 8) };
  } else {
    throw new PortusError(
      ErrorCodes.ALGORITHM,
      'const: give exactly one of --param cwnd=PACKETS or --param rate=MBPS (with --param cwnd_cap=PACKETS)',
    );
  }
  return {
    name: 'const',
    datapathPrograms: () => ({ constant: CONSTANT_PROG }),
    newFlow(datapath: DatapathHandle): Flow {
      datapath.setProgram('constant', fields);
      // Reports are observed only; losses and timeouts are ignored (as the original).
      return { onReport(): void {} };
    },
  };
}
