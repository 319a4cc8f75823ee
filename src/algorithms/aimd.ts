/**
 * AIMD, as pyportus' `aimd.py` (spec algorithms.md §7.2): report on loss/timeout or once per RTT
 * sample; on loss or SACK halve the window, otherwise add MSS·acked/cwnd; floor at the initial
 * window (10 MSS); no slow start.
 * @module
 */
import type { Algorithm, DatapathHandle, DatapathInfo, Flow, Report } from '../agent/index.ts';
import { checkParams, numParam, type Params } from './params.ts';
import { INTERVAL_RTT_PROG } from './programs.ts';

/** Parameters: `init_cwnd` (packets, default 10). */
export function aimd(params: Params = {}): Algorithm {
  checkParams('aimd', params, ['init_cwnd']);
  const initPkts = numParam('aimd', params, 'init_cwnd', 10);
  return {
    name: 'aimd',
    datapathPrograms: () => ({ default: INTERVAL_RTT_PROG }),
    newFlow(datapath: DatapathHandle, info: DatapathInfo): Flow {
      const initCwnd = info.mss * initPkts;
      let cwnd = initCwnd;
      datapath.setProgram('default', { Cwnd: Math.floor(cwnd) });
      return {
        onReport(r: Report): void {
          if (r.loss > 0 || r.sacked > 0) cwnd /= 2;
          else cwnd += info.mss * (r.acked / cwnd);
          cwnd = Math.max(cwnd, initCwnd);
          datapath.updateField('Cwnd', Math.floor(cwnd));
        },
      };
    },
  };
}
