import { Bool, defineModule, log2Ceil, streamSpec, UInt } from '../../generator/index.js';

/** A FIFO of `depth` words (a power of two) in block RAM, with valid/ready streams on both sides. */
export const smallFifo = (width: number, depth: number) =>
  defineModule('small_fifo', { WIDTH: width, DEPTH: depth }, (m) => {
    const aw = log2Ceil(depth);
    const push = m.slave('push', streamSpec(UInt(width)));
    const pop = m.master('pop', streamSpec(UInt(width)));
    const count = m.output('count', UInt(aw + 1));

    // No read ever targets the word being written (see `fetch`), so the RAM needs no bypass logic.
    const ram = m.memory('ram', { width, depth, readUnderWrite: 'undefined' });
    const wrPtr = m.reg('wr_ptr', UInt(aw), { reset: 0 });
    const rdPtr = m.reg('rd_ptr', UInt(aw), { reset: 0 });
    const words = m.reg('words', UInt(aw + 1), { reset: 0 }); // all words, the output stage included
    const stored = m.reg('stored', UInt(aw + 1), { reset: 0 }); // words in the RAM, not yet fetched
    const headValid = m.reg('head_valid', Bool, { reset: 0 });

    push.ready.set(words.ne(depth));
    const pushed = m.named('pushed', push.valid.and(push.ready));
    const popped = m.named('popped', headValid.and(pop.ready));
    // The RAM's read register is the output stage: refill it when it is empty or being emptied.
    const fetch = m.named('fetch', stored.ne(0).and(headValid.not().or(pop.ready)));

    m.when(pushed, () => {
      ram.write(wrPtr, push.payload);
      wrPtr.set(wrPtr.addWrap(1));
    });
    m.when(fetch, () => rdPtr.set(rdPtr.addWrap(1)));
    pop.payload.set(ram.read(rdPtr, { enable: fetch, name: 'head' }));
    pop.valid.set(headValid);
    m.when(fetch, () => headValid.set(1)).elseWhen(popped, () => headValid.set(0));

    m.when(pushed.and(fetch.not()), () => stored.set(stored.addWrap(1))).elseWhen(fetch.and(pushed.not()), () =>
      stored.set(stored.subWrap(1)),
    );
    m.when(pushed.and(popped.not()), () => words.set(words.addWrap(1))).elseWhen(popped.and(pushed.not()), () =>
      words.set(words.subWrap(1)),
    );
    count.set(words);
    return { push, pop, count };
  });
