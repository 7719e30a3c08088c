import { describe, expect, it } from 'vitest';
import {
  closestName,
  DEFAULT_PARAMS,
  deriveParams,
  formatParams,
  type NicParams,
  PARAM_NAMES,
  ParamError,
  PROFILE_NAMES,
  PROFILES,
  paramProblems,
  resolveParams,
  validateParams,
} from '../../hdl/params.js';

function refusal(f: () => unknown): ParamError {
  try {
    f();
  } catch (e) {
    if (e instanceof ParamError) return e;
    throw e;
  }
  throw new Error('expected a ParamError');
}

describe('profiles', () => {
  it('the defaults are those of spec section 2', () => {
    expect(resolveParams()).toEqual({
      N_CTX: 32,
      SEQ_W: 32,
      MAX_RING_LOG2: 12,
      STREAM_W: 64,
      DMA_W: 64,
      LOCAL_LOOPBACK: true,
      TX_QUANTUM: 1,
      VLAN: false,
    });
  });

  it('each named profile is the defaults with its own values', () => {
    for (const name of PROFILE_NAMES) {
      const p = resolveParams(name);
      for (const key of PARAM_NAMES) expect(p[key]).toBe(PROFILES[name][key] ?? DEFAULT_PARAMS[key]);
      expect(paramProblems(p)).toEqual([]);
    }
    expect(resolveParams('test')).toMatchObject({ N_CTX: 4, SEQ_W: 4, MAX_RING_LOG2: 3 });
    expect(resolveParams('ricenic')).toMatchObject({ N_CTX: 32 });
    expect(resolveParams('10g')).toMatchObject({ N_CTX: 256, STREAM_W: 64, DMA_W: 128 });
    expect(resolveParams('100g')).toMatchObject({ N_CTX: 1024, STREAM_W: 512, DMA_W: 512 });
  });

  it('an unknown profile is refused with the closest name and the list', () => {
    const e = refusal(() => resolveParams('tset'));
    expect(e.message).toContain('unknown profile tset');
    expect(e.message).toContain('did you mean test?');
    expect(e.message).toContain('test, ricenic, 10g, 100g');
  });
});

describe('overrides', () => {
  it('parses command-line strings into numbers and booleans', () => {
    const p = resolveParams('10g', { N_CTX: '1024', VLAN: 'on', LOCAL_LOOPBACK: 'false', TX_QUANTUM: '0x4' });
    expect(p).toMatchObject({ N_CTX: 1024, VLAN: true, LOCAL_LOOPBACK: false, TX_QUANTUM: 4, DMA_W: 128 });
  });

  it('takes typed values too', () => {
    expect(resolveParams(undefined, { N_CTX: 1, VLAN: true })).toMatchObject({ N_CTX: 1, VLAN: true });
  });

  it('the result is frozen', () => {
    expect(Object.isFrozen(resolveParams('test'))).toBe(true);
  });
});

describe('validation messages name the parameter, its value and the rule', () => {
  const cases: [Record<string, string | number | boolean>, string][] = [
    [{ N_CTX: 48 }, 'N_CTX=48 is refused: N_CTX must be a power of two from 1 to 1024'],
    [{ N_CTX: 2048 }, 'N_CTX=2048 is refused: N_CTX must be a power of two from 1 to 1024'],
    [{ N_CTX: 0 }, 'N_CTX=0 is refused: N_CTX must be a power of two from 1 to 1024'],
    [{ N_CTX: 'many' }, 'N_CTX=many is refused: N_CTX must be a power of two from 1 to 1024'],
    [{ SEQ_W: 3, MAX_RING_LOG2: 1 }, 'SEQ_W=3 is refused: SEQ_W must be an integer from 4 to 32'],
    [{ SEQ_W: 33 }, 'SEQ_W=33 is refused: SEQ_W must be an integer from 4 to 32'],
    [{ MAX_RING_LOG2: 0 }, 'MAX_RING_LOG2=0 is refused: MAX_RING_LOG2 must be an integer from 1 to 16'],
    [{ STREAM_W: 16 }, 'STREAM_W=16 is refused: STREAM_W must be one of 8, 32, 64, 128, 256, 512'],
    [{ DMA_W: 32 }, 'DMA_W=32 is refused: DMA_W must be one of 64, 128, 256, 512'],
    [{ TX_QUANTUM: 0 }, 'TX_QUANTUM=0 is refused: TX_QUANTUM must be an integer from 1 to 65535'],
    [{ TX_QUANTUM: 1.5 }, 'TX_QUANTUM=1.5 is refused: TX_QUANTUM must be an integer from 1 to 65535'],
    [{ VLAN: 'maybe' }, 'VLAN=maybe is refused: VLAN must be on or off (true/false, 1/0)'],
    [{ LOCAL_LOOPBACK: 2 }, 'LOCAL_LOOPBACK=2 is refused: LOCAL_LOOPBACK must be on or off (true/false, 1/0)'],
  ];
  for (const [overrides, message] of cases) {
    it(message, () => {
      const e = refusal(() => resolveParams(undefined, overrides));
      expect(e.problems).toEqual([message]);
      expect(e.message).toBe(message);
    });
  }

  it('P-9: a ring larger than half the sequence space is refused at generation', () => {
    const e = refusal(() => resolveParams('test', { MAX_RING_LOG2: 4 }));
    expect(e.problems).toHaveLength(1);
    expect(e.message).toMatch(/^MAX_RING_LOG2=4 is refused: 2\^MAX_RING_LOG2 <= 2\^\(SEQ_W-1\)/);
    expect(e.message).toContain('with SEQ_W=4 the largest MAX_RING_LOG2 is 3');
    // The boundary itself is accepted.
    expect(resolveParams('test', { MAX_RING_LOG2: 3 }).MAX_RING_LOG2).toBe(3);
    expect(resolveParams(undefined, { SEQ_W: 8, MAX_RING_LOG2: 7 }).MAX_RING_LOG2).toBe(7);
    expect(() => resolveParams(undefined, { SEQ_W: 8, MAX_RING_LOG2: 8 })).toThrow(ParamError);
  });

  it('lists every broken rule at once', () => {
    const e = refusal(() => resolveParams(undefined, { N_CTX: 3, DMA_W: 8 }));
    expect(e.problems).toHaveLength(2);
    expect(e.message).toContain('N_CTX=3 is refused');
    expect(e.message).toContain('DMA_W=8 is refused');
  });

  it('an unknown parameter is refused with the closest name, or the list when nothing is close', () => {
    expect(refusal(() => resolveParams(undefined, { SEQW: 8 })).message).toBe('unknown parameter SEQW: did you mean SEQ_W?');
    expect(refusal(() => resolveParams(undefined, { n_ctx: 8 })).message).toBe('unknown parameter n_ctx: did you mean N_CTX?');
    const far = refusal(() => resolveParams(undefined, { FREQUENCY_MHZ: 8 })).message;
    expect(far).toContain('unknown parameter FREQUENCY_MHZ: known parameters: N_CTX, SEQ_W');
  });

  it('validateParams refuses a hand-built set and extra keys', () => {
    const bad = { ...DEFAULT_PARAMS, N_CTX: 12, EXTRA: 1 } as unknown as NicParams;
    const e = refusal(() => validateParams(bad));
    expect(e.problems).toContain('N_CTX=12 is refused: N_CTX must be a power of two from 1 to 1024');
    expect(e.problems.some((s) => s.startsWith('unknown parameter EXTRA'))).toBe(true);
    expect(validateParams(DEFAULT_PARAMS)).toBe(DEFAULT_PARAMS);
  });

  it('every power of two from 1 to 1024 is a valid N_CTX, and nothing else between', () => {
    for (let n = 1; n <= 1100; n++) {
      const ok = paramProblems({ ...DEFAULT_PARAMS, N_CTX: n }).length === 0;
      expect(ok, `N_CTX=${n}`).toBe(n <= 1024 && (n & (n - 1)) === 0);
    }
  });
});

describe('closestName', () => {
  it('finds near misses and ignores far ones', () => {
    expect(closestName('DMAW', PARAM_NAMES)).toBe('DMA_W');
    expect(closestName('TX_QUANTA', PARAM_NAMES)).toBe('TX_QUANTUM');
    expect(closestName('XYZ', PARAM_NAMES)).toBeUndefined();
  });
});

describe('derived values', () => {
  it('follow from the parameters', () => {
    const t = deriveParams(resolveParams('test'));
    expect(t).toMatchObject({ ctxBits: 2, ctxIndexWidth: 2, seqMask: 15, maxRingEntries: 8, ringLog2Width: 2, intrGroups: 1 });
    const big = deriveParams(resolveParams('10g', { N_CTX: 1024, VLAN: true }));
    expect(big).toMatchObject({ ctxBits: 10, intrGroups: 16, intrGroupWidth: 4, maxFrameBytes: 1518, dmaBytes: 16, streamBytes: 8 });
    const one = deriveParams(resolveParams(undefined, { N_CTX: 1 }));
    expect(one).toMatchObject({ ctxBits: 0, ctxIndexWidth: 1, seqMask: 0xffffffff, maxFrameBytes: 1514 });
  });

  it('ringLog2Width holds MAX_RING_LOG2', () => {
    for (let l = 1; l <= 16; l++) {
      const w = deriveParams(resolveParams(undefined, { MAX_RING_LOG2: l })).ringLog2Width;
      expect(2 ** w).toBeGreaterThan(l);
      expect(2 ** (w - 1)).toBeLessThanOrEqual(l);
    }
  });

  it('formatParams prints every parameter', () => {
    expect(formatParams(resolveParams('test'))).toBe(
      'N_CTX=4 SEQ_W=4 MAX_RING_LOG2=3 STREAM_W=64 DMA_W=64 LOCAL_LOOPBACK=on TX_QUANTUM=1 VLAN=off',
    );
  });
});
