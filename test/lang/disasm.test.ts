// The disassembler prints an instruction list back in the spec's notation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, disassemble, formatInstruction, formatOperand } from '../../src/lang/index.ts';
import { EXAMPLE_A, EXAMPLE_B } from './fixtures.ts';
import { ins } from './helpers.ts';

test('disassemble: event table, then each instruction with its index, grouped by DEFs, conditions and bodies', () => {
  const p = compile(EXAMPLE_A);
  assert.equal(
    disassemble({ instructions: p.instructions, events: p.events }),
    [
      '; event 0: condition 3..3 (1), body 4..9 (6)',
      '; event 1: condition 10..10 (1), body 11..12 (2)',
      'defs:',
      '   0  DEF     R5.1 <- #0',
      '   1  DEF     R6.2 <- #4294967295',
      '   2  DEF     R5.0 <- #0',
      'event 0 condition:',
      '   3  BIND    I.0 <- #1',
      'event 0 body:',
      '   4  ADD     T.0 <- R5.1, P.0',
      '   5  BIND    R5.1 <- T.0',
      '   6  BIND    R5.0 <- P.13',
      '   7  MIN     T.0 <- R6.2, P.13',
      '   8  BIND    R6.2 <- T.0',
      '   9  BIND    I.1 <- #1',
      'event 1 condition:',
      '  10  GT      I.0 <- I.3, R6.2',
      'event 1 body:',
      '  11  BIND    I.2 <- #1',
      '  12  BIND    I.3 <- #0',
      '',
    ].join('\n'),
  );
});

test('disassemble with a scope names variables and built-ins', () => {
  const p = compile(EXAMPLE_B);
  const text = disassemble(p);
  assert.match(text, /^ {3}5 {2}EWMA +R5\.0 <- #8, P\.13 +; Report\.srtt, Flow\.rtt_sample_us$/m);
  assert.match(text, /^ {3}8 {2}BIND +L\.0 <- T\.1 +; inc$/m);
  assert.match(text, /^ {2}14 {2}IF +C8\.1 <- T\.0, T\.1 +; hits$/m);
});

test('every opcode and register type has a name', () => {
  const names = [
    'ADD',
    'BIND',
    'DEF',
    'DIV',
    'EQUIV',
    'EWMA',
    'GT',
    'IF',
    'LT',
    'MAX',
    'MAXWRAP',
    'MIN',
    'MUL',
    'NOTIF',
    'SUB',
  ];
  names.forEach((n, op) => assert.ok(formatInstruction({ ...ins('ADD T.0 T.1 T.2'), op }).startsWith(n)));
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((type) => formatOperand({ type, index: 3 })),
    ['C0.3', '#3', 'I.3', 'L.3', 'P.3', 'R5.3', 'R6.3', 'T.3', 'C8.3', '?9.3'],
  );
  assert.equal(formatInstruction({ ...ins('ADD T.0 T.1 T.2'), op: 15 }), 'OP15    T.0 <- T.1, T.2');
  // a BIND whose left differs from its result (a retargeted condition) shows both
  assert.equal(formatInstruction(ins('BIND I.0 T.0 #1')), 'BIND    I.0 <- T.0, #1');
});
