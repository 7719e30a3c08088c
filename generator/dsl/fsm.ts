import { ElaborationError } from './errors.js';
import { Expr } from './expr.js';
import type { ModuleBuilder } from './module.js';
import type { Reg } from './signal.js';
import { captureSource } from './source.js';

/**
 * A state machine with named states: a state register whose values are emitted as localparams
 * (`TX_STATE_IDLE`), `is(state)` tests, `goto(state)` transitions and a `switch` over all states.
 */
export class Fsm<S extends string> {
  readonly state: Reg;
  private readonly codes: Map<S, Expr>;

  constructor(
    private readonly m: ModuleBuilder,
    name: string,
    readonly states: readonly S[],
    initial: S = states[0] as S,
  ) {
    const loc = captureSource();
    if (states.length === 0) throw new ElaborationError(`FSM '${name}' needs at least one state`, loc);
    const seen = new Set<string>();
    for (const s of states) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) {
        throw new ElaborationError(`FSM '${name}': state name '${s}' is not a legal Verilog name (letters, digits and _)`, loc);
      }
      if (seen.has(s)) throw new ElaborationError(`FSM '${name}' names state ${s} twice`, loc);
      seen.add(s);
    }
    const start = states.indexOf(initial);
    if (start < 0) throw new ElaborationError(`FSM '${name}': initial state ${initial} is not one of its states`, loc);
    this.state = m.stateReg(name, states, start);
    const names = this.state.options.enumNames as Map<bigint, string>;
    this.codes = new Map(
      states.map((s, i) => [s, new Expr({ kind: 'lit', value: BigInt(i), name: names.get(BigInt(i)) as string }, this.state.type, loc)]),
    );
  }

  private code(s: S): Expr {
    const c = this.codes.get(s);
    if (!c) throw new ElaborationError(`'${s}' is not a state of FSM '${this.state.name}'`, captureSource());
    return c;
  }

  /** True while the machine is in state s. */
  is(s: S): Expr {
    return this.state.eq(this.code(s));
  }

  /** Moves to state s on the next clock edge (under the enclosing conditions). */
  goto(s: S): void {
    this.state.set(this.code(s));
  }

  /** One case per state; states left out keep their state unless a handler moves them. */
  switch(handlers: Partial<Record<S, () => void>>): void {
    const loc = captureSource();
    for (const k of Object.keys(handlers)) {
      if (!this.codes.has(k as S)) {
        throw new ElaborationError(`FSM '${this.state.name}' has no state '${k}' (its states: ${this.states.join(', ')})`, loc);
      }
    }
    let chain = this.m.switch(this.state);
    for (const s of this.states) {
      const h = handlers[s];
      if (h) chain = chain.is(this.code(s), h);
    }
  }
}

export function fsm<S extends string>(m: ModuleBuilder, name: string, states: readonly S[], initial?: S): Fsm<S> {
  return new Fsm(m, name, states, initial);
}
