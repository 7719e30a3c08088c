import { describe, expect, it } from 'vitest';
import { emitDesign, fsm, type ModuleBuilder, UInt } from '../../generator/index.js';
import { expectLintClean, scratch } from './design.js';
import { expectError, type Marker, marker } from './where.js';

function refuses(build: (m: ModuleBuilder, at: Marker) => void, text: string | RegExp): void {
  const at = marker();
  expectError(() => scratch((m) => build(m, at)), at, text);
}

describe('FSM', () => {
  it('name its states with localparams, reset to the initial state, and pass lint', async () => {
    const { def } = scratch((m) => {
      const go = m.input('go');
      const st = fsm(m, 'tx', ['IDLE', 'SEND', 'DONE', 'SPARE'] as const, 'DONE');
      st.switch({
        IDLE: () => m.when(go, () => st.goto('SEND')),
        SEND: () => st.goto('DONE'),
        DONE: () => st.goto('IDLE'),
      });
      m.output('sending').set(st.is('SEND'));
      expect(st.state.width).toBe(2);
      expect(st.states).toEqual(['IDLE', 'SEND', 'DONE', 'SPARE']);
    });
    const text = emitDesign(def)[0]?.text ?? '';
    expect(text).toContain("  localparam [1:0] TX_IDLE = 2'd0;\n");
    expect(text).toContain("  localparam [1:0] TX_DONE = 2'd2;\n");
    // A state nothing names is kept for readers and waived with the reason.
    expect(text).toContain(
      "  // verilator lint_off UNUSEDPARAM\n  localparam [1:0] TX_SPARE = 2'd3;  // a state no transition names\n  // verilator lint_on UNUSEDPARAM\n",
    );
    // The reset names the fsm() line, the transition its goto() line.
    expect(text).toMatch(/ {6}tx <= TX_DONE; {2}\/\/ test\/dsl\/fsm\.test\.ts:15\n/);
    expect(text).toContain('        TX_SEND: begin\n          tx <= TX_DONE;  // test/dsl/fsm.test.ts:18\n        end\n');
    await expectLintClean(def);
  });

  it('refuse an FSM without states', () => {
    refuses((m, at) => {
      at.next();
      fsm(m, 'st', [] as string[]);
    }, "FSM 'st' needs at least one state");
  });

  it('refuse a state named twice', () => {
    refuses((m, at) => {
      at.next();
      fsm(m, 'st', ['A', 'B', 'A']);
    }, "FSM 'st' names state A twice");
  });

  it('refuse a state name Verilog cannot carry', () => {
    refuses((m, at) => {
      at.next();
      fsm(m, 'st', ['IDLE', 'WAIT-ACK']);
    }, "FSM 'st': state name 'WAIT-ACK' is not a legal Verilog name (letters, digits and _)");
  });

  it('refuse an initial state that is not a state', () => {
    refuses((m, at) => {
      at.next();
      fsm(m, 'st', ['A', 'B'], 'C' as 'A');
    }, "FSM 'st': initial state C is not one of its states");
  });

  it('refuse a transition to an unknown state', () => {
    refuses((m, at) => {
      const st = fsm(m, 'st', ['A', 'B'] as const);
      at.next();
      st.goto('C' as 'A');
    }, "'C' is not a state of FSM 'st'");
  });

  it('refuse a handler for an unknown state', () => {
    refuses((m, at) => {
      const st = fsm(m, 'st', ['A', 'B'] as const);
      at.next();
      st.switch({ A: () => st.goto('B'), C: () => st.goto('A') } as unknown as Record<'A' | 'B', () => void>);
    }, "FSM 'st' has no state 'C' (its states: A, B)");
  });

  it('refuse a state localparam that clashes with a signal', () => {
    refuses((m, at) => {
      m.input('ST_IDLE', UInt(2));
      at.next();
      fsm(m, 'st', ['IDLE', 'RUN']);
    }, /'ST_IDLE' is declared twice/);
  });

  it('refuse an FSM that never moves', () => {
    refuses((m, at) => {
      at.next();
      const st = fsm(m, 'st', ['IDLE', 'RUN'] as const);
      m.output('o').set(st.is('RUN'));
    }, /^register 'st' of module scratch\d+ is never assigned/);
  });
});
