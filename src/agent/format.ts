/**
 * One-line renderings of CCP messages for debug logs.
 * @module
 */
import { MsgType, type Message, type UpdateRecord } from '../wire/index.ts';

function updates(list: UpdateRecord[]): string {
  return '[' + list.map((u) => `(${u.regType},${u.regIndex})=${u.value}`).join(' ') + ']';
}

/** Render a decoded message on one line, e.g. `MEASURE sid=1 uid=2 nf=6 fields=[1448 0 ...]`. */
export function formatMessage(m: Message): string {
  switch (m.type) {
    case MsgType.READY:
      return `READY id=${m.id}`;
    case MsgType.CREATE:
      return (
        `CREATE sid=${m.sid} initCwnd=${m.initCwnd} mss=${m.mss} src=${m.srcIp}:${m.srcPort} ` +
        `dst=${m.dstIp}:${m.dstPort} alg=${JSON.stringify(m.congAlg)}`
      );
    case MsgType.MEASURE:
      return `MEASURE sid=${m.sid} uid=${m.programUid} nf=${m.numFields} fields=[${m.fields.join(' ')}]`;
    case MsgType.INSTALL_EXPR:
      return `INSTALL_EXPR uid=${m.programUid} events=${m.events.length} instructions=${m.instructions.length}`;
    case MsgType.UPDATE_FIELDS:
      return `UPDATE_FIELDS sid=${m.sid} ${updates(m.updates)}`;
    case MsgType.CHANGE_PROG:
      return `CHANGE_PROG sid=${m.sid} uid=${m.programUid} ${updates(m.updates)}`;
    default:
      return `message ${JSON.stringify(m)}`;
  }
}
