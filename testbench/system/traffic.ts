/**
 * Random traffic for system scenarios: what guests send (to each other, to the wire, broadcast,
 * multicast, with forged source MACs) and what arrives from the wire (unicast, broadcast, multicast,
 * unknown destinations, runts, oversize and bad-FCS frames). Every frame carries a test tag (its
 * sender and its place in the sender's sequence) so receivers can check order and integrity.
 */
import { deriveParams, type NicParams } from '../../hdl/params.js';
import { buildFrame, type EthFrame, testFrame } from '../ethernet/frame.js';
import { BROADCAST_MAC, type MacAddress } from '../ethernet/mac.js';
import type { Rng } from '../runtime/random.js';

export interface TrafficMix {
  /** Chance that a guest sends in a phase. */
  send: number;
  /** Frames per send (one hypercall, one doorbell), at most. */
  burst: number;
  /** Chance that a phase is local (guest to guest, broadcast, multicast) rather than a wire phase. */
  localPhase: number;
  /** Weights of the destinations of frames guests send in a local phase. */
  local: { unicast: number; broadcast: number; multicast: number; external: number };
  /** Chance that a frame a guest sends has a forged source MAC (SPOOFCHK drops it, P-14). */
  spoof: number;
  /** Chance that a send is cut into descriptors of 64..512 bytes (multi-descriptor frames, T-3). */
  fragment: number;
  /** Frames from the wire per wire phase, at most. */
  wireFrames: number;
  /** Weights of the kinds of frames from the wire. */
  wire: { unicast: number; broadcast: number; multicast: number; nomatch: number; runt: number; oversize: number; badFcs: number };
  /** Chance of one hostile action at the start of each round. */
  attack: number;
}

export const DEFAULT_MIX: TrafficMix = {
  send: 0.7,
  burst: 3,
  localPhase: 0.4,
  local: { unicast: 4, broadcast: 1, multicast: 1, external: 3 },
  spoof: 0.04,
  fragment: 0.15,
  wireFrames: 6,
  wire: { unicast: 6, broadcast: 1, multicast: 1, nomatch: 1, runt: 0.5, oversize: 0.5, badFcs: 0.5 },
  attack: 0.5,
};

/** The tag `ctx` of frames that come from the wire (not from a context of this NIC). */
export const WIRE_SOURCE = 0xfff;

/**
 * MACs outside the NIC: never in its table. Their own prefix (02:ee), apart from localMac's (02:cd):
 * the scenario's guests take localMac(0x100 * hand-overs + ctx), which after 256 hand-overs (about
 * 2.3 * 10^7 cycles) reached 0x10000 + i, the external MACs' old indices, so a context owned an
 * "external" MAC and frames for the wire were delivered to it, racing the wire's frames.
 */
export function externalMac(i: number): MacAddress {
  if (!Number.isInteger(i) || i < 0 || i > 0xffff_ffff) throw new Error(`externalMac index ${i} must be an integer in 0..2^32-1`);
  return 0x02ee * 2 ** 32 + i;
}

/** The multicast group the scenario's guests with MCAST_EN listen to. */
export const GROUP_MAC: MacAddress = 0x01_00_5e_00_00_2a;

function weighted<K extends string>(rng: Rng, w: Record<K, number>): K {
  const keys = Object.keys(w) as K[];
  const total = keys.reduce((n, k) => n + w[k], 0);
  let x = rng.next() * total;
  for (const k of keys) {
    x -= w[k];
    if (x < 0) return k;
  }
  return keys[keys.length - 1];
}

/** A frame length: mostly short, some long, sometimes under the 60-byte minimum (the NIC pads). */
export function frameLength(rng: Rng, max: number): number {
  const x = rng.next();
  if (x < 0.1) return rng.range(30, 59);
  if (x < 0.65) return rng.range(60, 200);
  if (x < 0.9) return rng.range(200, 1000);
  return rng.range(1000, max);
}

/** One sender's numbering of the frames it sends. */
export class TagCounter {
  private readonly next = new Map<number, number>();
  take(ctx: number): { ctx: number; seq: number } {
    const seq = this.next.get(ctx) ?? 0;
    this.next.set(ctx, seq + 1);
    return { ctx, seq };
  }
}

export interface Peer {
  ctx: number;
  mac: MacAddress;
  mcast: boolean;
}

export interface PlannedSend {
  frames: Uint8Array[];
  /** Bytes per descriptor when the send is fragmented. */
  fragment?: number;
}

export class TrafficGenerator {
  private readonly maxFrame: number;
  readonly tags = new TagCounter();

  constructor(
    private readonly rng: Rng,
    readonly mix: TrafficMix,
    params: NicParams,
  ) {
    this.maxFrame = deriveParams(params).maxFrameBytes;
  }

  /**
   * Frames context `from` sends in one phase (fitting `freeBuffers` TX buffers of `bufferBytes`), or
   * undefined when it stays quiet. Local phases may address peers; wire phases only the outside.
   */
  planSend(
    from: Peer,
    peers: readonly Peer[],
    local: boolean,
    freeBuffers: number,
    bufferBytes: number,
    /** Send whatever the mix's chance says (the victim of a fault round). */
    always = false,
  ): PlannedSend | undefined {
    const rng = this.rng;
    if ((!always && !rng.chance(this.mix.send)) || freeBuffers === 0) return undefined;
    const fragment = rng.chance(this.mix.fragment) ? rng.range(64, 512) : undefined;
    const chunk = Math.min(fragment ?? bufferBytes, bufferBytes);
    const frames: Uint8Array[] = [];
    let used = 0;
    for (let k = rng.range(1, this.mix.burst); k > 0; k--) {
      const len = frameLength(rng, this.maxFrame);
      const need = Math.max(1, Math.ceil(len / chunk));
      if (used + need > freeBuffers) break;
      const others = peers.filter((p) => p.ctx !== from.ctx);
      let dst: MacAddress = externalMac(rng.int(16));
      if (local) {
        const kind = weighted(rng, this.mix.local);
        if (kind === 'unicast' && others.length > 0) dst = rng.pick(others).mac;
        else if (kind === 'broadcast') dst = BROADCAST_MAC;
        else if (kind === 'multicast') dst = GROUP_MAC;
      }
      const src = rng.chance(this.mix.spoof) ? (others.length > 0 ? rng.pick(others).mac : externalMac(99)) : from.mac;
      frames.push(testFrame(dst, src, this.tags.take(from.ctx), len).data);
      used += need;
    }
    return frames.length > 0 ? { frames, fragment } : undefined;
  }

  /**
   * Frames from the wire for one wire phase. `budget` bounds the bytes they make the NIC buffer and
   * copy (a broadcast counts once per receiver), so the MAC-side buffer never overflows: a MAC
   * cannot be back-pressured, and a FIFO drop would be a timing artefact, not a behaviour.
   */
  planWire(peers: readonly Peer[], formerMacs: readonly MacAddress[], budget: number): EthFrame[] {
    const rng = this.rng;
    const out: EthFrame[] = [];
    let spent = 0;
    const mcast = peers.filter((p) => p.mcast).length;
    for (let k = rng.range(0, this.mix.wireFrames); k > 0; k--) {
      const kind = weighted(rng, this.mix.wire);
      const tag = this.tags.take(WIRE_SOURCE);
      const len = frameLength(rng, this.maxFrame);
      let f: EthFrame;
      let copies = 1;
      switch (kind) {
        case 'unicast': {
          const macs = [...peers.map((p) => p.mac), ...formerMacs];
          f = testFrame(macs.length > 0 ? rng.pick(macs) : externalMac(1), externalMac(rng.int(16)), tag, Math.max(60, len));
          break;
        }
        case 'broadcast':
          f = testFrame(BROADCAST_MAC, externalMac(rng.int(16)), tag, Math.max(60, len));
          copies = Math.max(1, peers.length);
          break;
        case 'multicast':
          f = testFrame(GROUP_MAC, externalMac(rng.int(16)), tag, Math.max(60, len));
          copies = Math.max(1, mcast);
          break;
        case 'nomatch':
          f = testFrame(externalMac(rng.int(16)), externalMac(rng.int(16)), tag, Math.max(60, len));
          break;
        case 'runt':
          f = testFrame(peers.length > 0 ? rng.pick(peers).mac : externalMac(1), externalMac(2), tag, rng.range(26, 59));
          break;
        case 'oversize':
          f = testFrame(peers.length > 0 ? rng.pick(peers).mac : externalMac(1), externalMac(2), tag, rng.range(this.maxFrame + 1, 1600));
          break;
        case 'badFcs': {
          const dst = peers.length > 0 ? rng.pick(peers).mac : externalMac(1);
          f = buildFrame({ dst, src: externalMac(3), tag, length: Math.max(60, len), badFcs: true });
          break;
        }
      }
      const cost = f.data.length * copies;
      if (spent + cost > budget) break;
      spent += cost;
      out.push(f);
    }
    return out;
  }
}
