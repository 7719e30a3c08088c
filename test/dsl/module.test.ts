import { describe, expect, it } from 'vitest';
import {
  Bool,
  clearDefinitions,
  defineModule,
  emitDesign,
  InstanceInput,
  lit,
  type ModuleBuilder,
  SInt,
  UInt,
} from '../../generator/index.js';
import { expectLintClean, scratch } from './design.js';
import { expectError, type Marker, marker, nextLine } from './where.js';

/** Elaborates `build` in a fresh module and expects the error `text` at the marked line. */
function refuses(build: (m: ModuleBuilder, at: Marker) => void, text: string | RegExp, related: (at: Marker) => Marker[] = () => []): void {
  const at = marker();
  const rel = related(at);
  expectError(() => scratch((m) => build(m, at)), at, text, rel);
}

describe('assignments', () => {
  it('refuse a width mismatch and name the explicit fix', () => {
    refuses((m, at) => {
      const a = m.input('a', UInt(4));
      const o = m.output('o', UInt(8));
      at.next();
      o.set(a);
    }, "cannot assign a 4-bit value to 'o' (8 bits); say resize(8) if that is meant");
  });

  it('refuse a silent truncation', () => {
    refuses((m, at) => {
      const a = m.input('a', UInt(8));
      const o = m.output('o', UInt(4));
      at.next();
      o.set(a.add(1).trunc(8));
    }, "cannot assign a 8-bit value to 'o' (4 bits); say trunc(4) if that is meant");
  });

  it('refuse mixing signed and unsigned', () => {
    refuses((m, at) => {
      const a = m.input('a', SInt(8));
      const o = m.output('o', UInt(8));
      at.next();
      o.set(a);
    }, "cannot assign a signed value to unsigned 'o'; use asSInt()/asUInt()");
  });

  it('size a JS literal by its target, and refuse one that does not fit', () => {
    const { def } = scratch((m) => {
      const o = m.output('o', SInt(4));
      o.set(-8);
    });
    expect(emitDesign(def)[0]?.text).toContain("assign o = -4'sd8;");
    refuses((m, at) => {
      const o = m.output('o', UInt(4));
      at.next();
      o.set(16);
    }, 'literal 16 does not fit in UInt(4)');
  });

  it('check partial assignments', () => {
    refuses((m, at) => {
      const r = m.reg('r', UInt(8), { reset: 0 });
      at.next();
      r.at(8, 4).set(0);
    }, "bits 8..4 are out of range for 'r' (8 bits)");
    refuses((m, at) => {
      const r = m.reg('r', UInt(8), { reset: 0 });
      at.next();
      r.at(7, 4).set(lit(1, 3));
    }, "cannot assign a 3-bit value to 'r part' (4 bits); say resize(4) if that is meant");
    refuses((m, at) => {
      const r = m.reg('r', UInt(8), { reset: 0 });
      const i = m.input('i', UInt(4));
      at.next();
      r.atIndex(i).set(1);
    }, "index of 'r' must be unsigned and at most 3 bits wide, got 4");
    refuses((m, at) => {
      const r = m.reg('r', UInt(8), { reset: 0 });
      const i = m.input('i', Bool);
      at.next();
      r.atPart(i, 3).set(0);
    }, "atPart(_, 3): the group size must divide the width 8 of 'r'");
  });

  it('refuse a condition wider than one bit', () => {
    refuses((m, at) => {
      const a = m.input('a', UInt(2));
      const o = m.output('o', Bool);
      o.set(0);
      at.next();
      m.when(a, () => o.set(1));
    }, 'a condition must be 1 bit wide, got 2 bits (use orR() or ne(0))');
  });
});

describe('drivers', () => {
  it('refuse an undriven output, naming its declaration', () => {
    refuses((m, at) => {
      at.next();
      m.output('o', UInt(8));
    }, /^output 'o' of module scratch\d+ is never assigned; drive it with .set\(\)$/);
  });

  it('refuse an undriven wire', () => {
    refuses((m, at) => {
      at.next();
      m.wire('w', UInt(8));
    }, /^wire 'w' of module scratch\d+ is never assigned/);
  });

  it('refuse a register that is never assigned', () => {
    refuses((m, at) => {
      at.next();
      m.reg('r', UInt(8), { reset: 0 });
    }, /^register 'r' of module scratch\d+ is never assigned/);
  });

  it('refuse register bits that nothing assigns when there is no reset', () => {
    refuses((m, at) => {
      const a = m.input('a', UInt(4));
      at.next();
      const r = m.reg('r', UInt(8));
      r.at(3, 0).set(a);
    }, "bits 7:4 of register 'r' are never assigned and it has no reset; assign them or make the register narrower");
  });

  it('refuse an undriven submodule input, naming the instance line', () => {
    const child = defineModule('undrivenChild', {}, (m) => {
      const i = m.input('i', UInt(4));
      const o = m.output('o', UInt(4));
      o.set(i);
      return { i, o };
    });
    refuses((m, at) => {
      at.next();
      const u = m.instance('u_child', child);
      const o = m.output('o', UInt(4));
      o.set(u.io.o);
    }, "input 'i' of submodule 'u_child' (undrivenChild) is never driven; set u_child_i or connect() it");
  });
});

describe('names', () => {
  it('refuse a name declared twice and point at both', () => {
    const first = marker();
    refuses(
      (m, at) => {
        first.next();
        m.input('x', UInt(4));
        at.next();
        m.wire('x', UInt(4), { init: 0 });
      },
      /^'x' is declared twice in module scratch\d+$/,
      () => [first],
    );
  });

  it('refuse Verilog keywords and illegal names', () => {
    for (const name of ['reg', 'module', 'always', 'logic']) {
      refuses((m, at) => {
        at.next();
        m.input(name);
      }, `'${name}' is a Verilog keyword; pick another name`);
    }
    refuses((m, at) => {
      at.next();
      m.input('2fast');
    }, "'2fast' is not a legal Verilog name (letters, digits and _; not starting with a digit)");
    const at = nextLine();
    expectError(() => defineModule('wire', {}, () => ({})), at, "module name 'wire' is a Verilog keyword; pick another name");
  });

  it('refuse an instance name that clashes with a signal', () => {
    const child = defineModule('leaf', {}, (m) => {
      const o = m.output('o');
      o.set(1);
      return { o };
    });
    refuses((m, at) => {
      m.input('u_o');
      at.next();
      m.instance('u', child);
    }, /'u_o' is declared twice/);
  });
});

describe('control', () => {
  it('refuse elseWhen or otherwise that does not follow its when', () => {
    refuses((m, at) => {
      const c = m.input('c');
      const o = m.output('o', UInt(2));
      const chain = m.when(c, () => o.set(1));
      o.set(2);
      at.next();
      chain.otherwise(() => o.set(3));
    }, 'otherwise must directly follow its when (no statement in between)');
    refuses((m, at) => {
      const c = m.input('c');
      const o = m.output('o', UInt(2));
      o.set(0);
      let chain = m.when(c, () => o.set(1));
      m.when(c, () => {
        at.next();
        chain = chain.elseWhen(c, () => o.set(2));
      });
    }, 'elseWhen must directly follow its when');
  });

  it('refuse a branch after otherwise', () => {
    refuses((m, at) => {
      const c = m.input('c');
      const o = m.output('o', UInt(2));
      const chain = m.when(c, () => o.set(1));
      chain.otherwise(() => o.set(2));
      at.next();
      chain.elseWhen(c, () => o.set(3));
    }, 'elseWhen after otherwise is never reached');
  });

  it('refuse bad switch values', () => {
    refuses((m, at) => {
      const s = m.input('s', UInt(2));
      const o = m.output('o', UInt(2));
      o.set(0);
      const chain = m.switch(s).is(0, () => o.set(1));
      at.next();
      chain.is([2, 0], () => o.set(2));
    }, 'switch case value 0 appears twice');
    refuses((m, at) => {
      const s = m.input('s', UInt(2));
      const o = m.output('o', UInt(2));
      o.set(0);
      at.next();
      m.switch(s).is(4, () => o.set(1));
    }, 'literal 4 does not fit in UInt(2)');
    refuses((m, at) => {
      const s = m.input('s', UInt(2));
      const o = m.output('o', UInt(2));
      o.set(0);
      at.next();
      m.switch(s).is(lit(1, 3), () => o.set(1));
    }, "case value 1 is 3 bits but the switch subject is 2 bits; case values take the subject's type");
    refuses((m, at) => {
      const s = m.input('s', UInt(2));
      const o = m.output('o', UInt(2));
      o.set(0);
      at.next();
      m.switch(s).is(s, () => o.set(1));
    }, "switch case values must be constants, got 's'; use when() to compare signals");
    refuses((m, at) => {
      const s = m.input('s', UInt(2));
      const o = m.output('o', UInt(2));
      o.set(0);
      const chain = m.switch(s);
      chain.default(() => o.set(1));
      at.next();
      chain.is(1, () => o.set(2));
    }, 'a switch case after default is never reached');
  });
});

describe('instances and parameters', () => {
  const adder = (width: number) =>
    defineModule('adder', { WIDTH: width }, (m) => {
      const a = m.input('a', UInt(width));
      const b = m.input('b', UInt(width));
      const sum = m.output('sum', UInt(width + 1));
      sum.set(a.add(b));
      return { a, b, sum };
    });

  it('elaborate one module per distinct parameter set', async () => {
    expect(adder(8)).toBe(adder(8));
    expect(adder(8)).not.toBe(adder(9));
    expect(adder(8).verilogName).toBe('adder__WIDTH_8');
    const top = defineModule('twoAdders', {}, (m) => {
      const x = m.input('x', UInt(8));
      const y = m.input('y', UInt(9));
      const u0 = m.instance('u0', adder(8));
      const u1 = m.instance('u1', adder(8));
      const u2 = m.instance('u2', adder(9));
      u0.io.a.set(x);
      u0.io.b.set(x);
      u1.io.a.set(x);
      u1.io.b.set(x);
      u2.io.a.set(y);
      u2.io.b.set(y);
      const o = m.output('o', UInt(10));
      o.set(u0.io.sum.add(u1.io.sum).xor(u2.io.sum));
      return {};
    });
    expect(emitDesign(top).map((e) => e.name)).toEqual(['adder__WIDTH_8', 'adder__WIDTH_9', 'twoAdders']);
    await expectLintClean(top);
  });

  it('refuse two bodies under one name and parameter set', () => {
    defineModule('twice', { N: 1 }, (m) => {
      m.output('o').set(1);
      return {};
    });
    const at = marker();
    const again = () => {
      at.next();
      return defineModule('twice', { N: 1 }, (m) => m.output('p').set(0));
    };
    expectError(again, at, "two different bodies define module 'twice' with the same parameters");
  });

  it('refuse parameter sets that would share a Verilog name', () => {
    // The boolean true and the string 'true' are both written `true` in a name.
    defineModule('named', { MODE: true }, () => ({}));
    const at = marker();
    const clash = () => {
      at.next();
      return defineModule('named', { MODE: 'true' }, () => ({}));
    };
    expectError(clash, at, 'would be named named__MODE_true, like another definition');
  });

  it('refuse an io that exposes an internal signal', () => {
    const leaky = defineModule('leaky', {}, (m) => {
      const w = m.wire('w', Bool, { init: 1 });
      const o = m.output('o');
      o.set(w);
      return { o, w };
    });
    refuses((m, at) => {
      at.next();
      m.instance('u', leaky);
    }, "the io of module leaky returns 'w' (at io.w), a wire and not a port; only ports can be seen from outside");
  });

  it('refuse reading a signal of another module', () => {
    const other = defineModule('other', {}, (m) => {
      const o = m.output('o');
      o.set(1);
      return { o };
    });
    refuses((m, at) => {
      const o = m.output('o');
      at.next();
      o.set(other.io.o);
    }, /^module scratch\d+ reads 'o' of module other; a module sees only its own signals/);
  });

  it('refuse assigning a signal of a module while another is being built', () => {
    refuses((m, at) => {
      const o = m.output('o');
      o.set(0);
      defineModule('inner', {}, () => {
        at.next();
        o.set(1);
        return {};
      });
    }, /'o' belongs to module scratch\d+, which is not the module being elaborated here/);
  });

  it('keep ports that the io leaves out, connected', async () => {
    const hidden = defineModule('hidden', {}, (m) => {
      const i = m.input('i', UInt(3));
      const o = m.output('o', UInt(3));
      o.set(i);
      return {};
    });
    const { def } = scratch((m) => {
      const u = m.instance('u', hidden);
      const i = u.ports.get('i');
      if (!(i instanceof InstanceInput)) throw new Error('u.ports has no input i');
      i.set(lit(5, 3));
    });
    const text = emitDesign(def).at(-1)?.text ?? '';
    expect(text).toContain('.i(u_i)');
    expect(text).toContain('.o(u_o)');
    await expectLintClean(def);
  });
});

describe('Vec', () => {
  it('reads and writes by index', async () => {
    const { def } = scratch((m) => {
      const idx = m.input('idx', UInt(2));
      const d = m.input('d', UInt(8));
      const we = m.input('we');
      const v = m.regVec('slot', 3, UInt(8), { reset: 0 });
      m.when(we, () => v.write(idx, d));
      m.output('q', UInt(8)).set(v.read(idx));
      m.output('first', UInt(8)).set(v.at(0));
      expect(v.length).toBe(3);
      expect([...v].map((r) => r.name)).toEqual(['slot_0', 'slot_1', 'slot_2']);
    });
    const text = emitDesign(def)[0]?.text ?? '';
    expect(text).toContain('case (idx)');
    expect(text).toContain("2'd2: begin");
    await expectLintClean(def);
  });

  it('refuses an element past the end', () => {
    refuses((m, at) => {
      const v = m.wireVec('w', 2, UInt(8), { init: 0 });
      at.next();
      v.at(2);
    }, 'Vec index 2 is out of range 0..1');
  });
});

describe('memories', () => {
  const mem = (m: ModuleBuilder) => m.memory('ram', { width: 16, depth: 32 });

  it('refuse an address of the wrong width', () => {
    refuses((m, at) => {
      const ram = mem(m);
      const a = m.input('a', UInt(6));
      at.next();
      ram.write(a, 0);
    }, "memory 'ram' (depth 32) takes a 5-bit unsigned address, got 6 bits");
  });

  it('refuse write data of the wrong width', () => {
    refuses((m, at) => {
      const ram = mem(m);
      const d = m.input('d', UInt(8));
      at.next();
      ram.write(0, d);
    }, "memory 'ram' is 16 bits wide, write data is 8 bits");
  });

  it('refuse a mask that does not divide the word', () => {
    refuses((m, at) => {
      const ram = mem(m);
      const k = m.input('k', UInt(3));
      at.next();
      ram.write(0, 0, k);
    }, "memory 'ram': a 3-bit mask does not divide 16-bit words evenly");
  });

  it('refuse bad shapes and initial contents', () => {
    refuses((m, at) => {
      at.next();
      m.memory('ram', { width: 8, depth: 0 });
    }, "memory 'ram': depth 0 must be >= 1");
    refuses((m, at) => {
      at.next();
      m.memory('ram', { width: 8, depth: 2, init: [1, 2, 3] });
    }, "memory 'ram': 3 initial words for a depth of 2");
    refuses((m, at) => {
      at.next();
      m.memory('ram', { width: 8, depth: 2, init: [1, 256] });
    }, "memory 'ram': initial word 1 (256) does not fit 8 bits");
  });

  it('refuse a memory that is never written and has no initial contents', () => {
    refuses((m, at) => {
      at.next();
      const ram = m.memory('ram', { width: 8, depth: 4 });
      m.output('q', UInt(8)).set(ram.read(0));
    }, "memory 'ram' is never written and has no initial contents; write() it or give it init");
  });
});

describe('misuse', () => {
  it('refuse building after the body returned', () => {
    let saved: ModuleBuilder | null = null;
    scratch((m) => {
      saved = m;
    });
    const at = marker();
    const late = () => {
      at.next();
      return (saved as unknown as ModuleBuilder).input('late');
    };
    expectError(late, at, /^module scratch\d+ is already elaborated; build hardware inside its body$/);
  });

  it('refuse building in an outer module from an inner body', () => {
    refuses((m, at) => {
      defineModule('innerBody', {}, () => {
        at.next();
        m.input('x');
        return {};
      });
    }, /^this builds hardware in module scratch\d+ while module innerBody is being elaborated/);
  });

  it('refuse a module that instantiates itself, and an io with another module’s port', () => {
    refuses((m, at) => {
      const self = { builder: m, verilogName: 'me', io: {} } as unknown as Parameters<ModuleBuilder['instance']>[1];
      at.next();
      m.instance('u', self);
    }, /cannot instantiate itself/);
    const other = defineModule('portOwner', {}, (m) => {
      const o = m.output('o');
      o.set(0);
      return { o };
    });
    const thief = defineModule('portThief', {}, (m) => {
      m.output('p').set(1);
      return { stolen: other.io.o };
    });
    refuses((m, at) => {
      at.next();
      m.instance('u', thief);
    }, "the io of module portThief returns 'o' (at io.stolen), a port of another module");
  });

  it('refuse a parameter that is not a number, string or boolean', () => {
    const at = marker();
    const bad = () => {
      at.next();
      return defineModule('badParam', { X: [1] as unknown as number }, () => ({}));
    };
    expectError(bad, at, "parameter X of module 'badParam' is a object; parameters are numbers, strings or booleans");
  });

  it('refuse an empty case and a wide read enable', () => {
    refuses((m, at) => {
      const s = m.input('s', UInt(2));
      const o = m.output('o', UInt(2));
      o.set(0);
      at.next();
      m.switch(s).is([], () => o.set(1));
    }, 'is([]) has no values; a case needs at least one');
    refuses((m, at) => {
      const ram = m.memory('ram', { width: 8, depth: 4, init: [1] });
      const en = m.input('en', UInt(2));
      at.next();
      ram.read(0, { enable: en });
    }, "memory 'ram': a read enable must be 1 bit wide, got 2");
  });

  it('refuse bad memory options', () => {
    refuses((m, at) => {
      at.next();
      m.memory('ram', { width: 0, depth: 4 });
    }, "memory 'ram': width 0 must be >= 1");
    refuses((m, at) => {
      at.next();
      m.memory('ram', { width: 8, depth: 4, init: [1.5] });
    }, "memory 'ram': initial word 0 (1.5) is not a whole number; use a bigint");
    refuses((m, at) => {
      at.next();
      m.memory('ram', { width: 8, depth: 4, readUnderWrite: 'new' as 'old' });
    }, "memory 'ram': readUnderWrite 'new' is not 'old' or 'undefined'");
  });

  it('refuse empty Vecs and signed Vec indexes', () => {
    refuses((m, at) => {
      at.next();
      m.regVec('v', 0, UInt(8));
    }, "Vec 'v' of 0 elements: the count must be >= 1");
    refuses((m, at) => {
      const v = m.wireVec('v', 2, UInt(8), { init: 0 });
      const i = m.input('i', SInt(2));
      at.next();
      v.write(i, 1);
    }, 'a Vec index must be unsigned');
  });

  it('refuse two modules of one Verilog name in one design', () => {
    const first = defineModule('dupName', {}, (m) => {
      m.output('o').set(0);
      return {};
    });
    // Forgetting the definitions lets a second body take the same name: the emitter still refuses it.
    clearDefinitions();
    const at = marker();
    const top = defineModule('dupTop', {}, (m) => {
      m.instance('a', first);
      at.next();
      const second = defineModule('dupName', {}, (inner) => {
        inner.output('o').set(1);
        return {};
      });
      m.instance('b', second);
      return {};
    });
    expectError(() => emitDesign(top), at, 'two different modules would both be named dupName');
  });
});
