import { ElaborationError } from './errors.js';
import type { Flow } from './signal.js';
import { DrivenSignal, InPort, type InstanceInput, InstanceOutput, type OutPort, Signal } from './signal.js';
import { captureSource } from './source.js';
import { Bool, type HwType, UInt } from './types.js';

/** Marks a bundle field (or sub-bundle) as flowing from the slave side to the master side. */
export class Flipped<T extends Spec> {
  constructor(readonly inner: T) {}
}

/** A bundle description, written from the master's point of view. */
export type Spec = HwType | Flipped<Spec> | { readonly [field: string]: Spec };

export function flip<T extends Spec>(spec: T): Flipped<T> {
  return new Flipped(spec);
}

export function isHwType(s: unknown): s is HwType {
  return typeof s === 'object' && s !== null && 'width' in s && 'signed' in s && typeof (s as HwType).width === 'number';
}

/** The ports a master of spec S has: forward fields are outputs, flipped fields are inputs. */
export type MasterPorts<S> = S extends HwType
  ? OutPort
  : S extends Flipped<infer I>
    ? SlavePorts<I>
    : { [K in keyof S]: MasterPorts<S[K]> };

/** The ports a slave of spec S has: forward fields are inputs, flipped fields are outputs. */
export type SlavePorts<S> = S extends HwType ? InPort : S extends Flipped<infer I> ? MasterPorts<I> : { [K in keyof S]: SlavePorts<S[K]> };

/** A bundle of wires inside a module, both sides drivable. */
export type WireBundle<S> = S extends HwType
  ? DrivenSignal
  : S extends Flipped<infer I>
    ? WireBundle<I>
    : { [K in keyof S]: WireBundle<S[K]> };

/** A tree of ports as the parent of an instance sees it: the child's inputs become things to drive. */
export type InstancePorts<T> = T extends InPort
  ? InstanceInput
  : T extends OutPort
    ? InstanceOutput
    : T extends Signal
      ? never
      : { [K in keyof T]: InstancePorts<T[K]> };

/** Visits every leaf of a spec with its flattened name and its flow. */
export function walkSpec(
  spec: Spec,
  prefix: string,
  flow: Flow,
  visit: (name: string, type: HwType, flow: Flow, path: string[]) => unknown,
  path: string[] = [],
): unknown {
  if (isHwType(spec)) return visit(prefix, spec, flow, path);
  if (spec instanceof Flipped) return walkSpec(spec.inner, prefix, flow === 'fwd' ? 'bwd' : 'fwd', visit, path);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(spec)) {
    out[key] = walkSpec((spec as Record<string, Spec>)[key] as Spec, `${prefix}_${key}`, flow, visit, [...path, key]);
  }
  return out;
}

type Tree = Signal | { readonly [k: string]: Tree };

function leaves(tree: unknown, path: string[] = []): { path: string[]; sig: Signal }[] {
  if (tree instanceof Signal) return [{ path, sig: tree }];
  if (typeof tree !== 'object' || tree === null) return [];
  return Object.keys(tree).flatMap((k) => leaves((tree as Record<string, unknown>)[k], [...path, k]));
}

/**
 * Connects a master-side bundle to a slave-side bundle in one line: forward fields drive the slave,
 * flipped fields drive the master. Shapes, widths and directions are checked.
 */
export function connect<M extends object, S extends object>(master: M, slave: S): void {
  const loc = captureSource();
  const ms = leaves(master);
  if (ms.length === 0) throw new ElaborationError('connect: the master side has no signals; pass a bundle of ports or wires', loc);
  const ss = new Map(leaves(slave).map((l) => [l.path.join('.'), l.sig]));
  const field = (key: string): string => (key === '' ? 'the signal' : `field '${key}'`);
  for (const { path, sig: m } of ms) {
    const key = path.join('.');
    if (!ss.has(key)) {
      throw new ElaborationError(
        `connect: ${field(key)} (${m.name}) of the master side has no partner on the slave side; the bundles differ in shape`,
        loc,
      );
    }
  }
  const mkeys = new Set(ms.map((l) => l.path.join('.')));
  for (const [key, s] of ss) {
    if (!mkeys.has(key)) {
      throw new ElaborationError(
        `connect: ${field(key)} (${s.name}) of the slave side has no partner on the master side; the bundles differ in shape`,
        loc,
      );
    }
  }
  for (const { path, sig: m } of ms) {
    const key = path.join('.');
    const s = ss.get(key) as Signal;
    if (m.flow !== s.flow) {
      throw new ElaborationError(
        `connect: ${field(key)} flows ${m.flow === 'fwd' ? 'forward' : 'backward'} in ${m.name} but ${s.flow === 'fwd' ? 'forward' : 'backward'} in ${s.name}; the specs differ in flip()`,
        loc,
      );
    }
    const [from, to] = m.flow === 'fwd' ? [m, s] : [s, m];
    if (!(to instanceof DrivenSignal)) {
      throw new ElaborationError(
        `connect: '${to.name}' cannot be driven here (it is ${describeReadOnly(to)}); are master and slave swapped? connect(master, slave) takes the side that drives the forward fields first`,
        loc,
      );
    }
    if (to.width !== from.width || to.type.signed !== from.type.signed) {
      throw new ElaborationError(`connect: ${field(key)}: '${from.name}' is ${from.width} bits but '${to.name}' is ${to.width} bits`, loc);
    }
  }
  for (const { path, sig: m } of ms) {
    const s = ss.get(path.join('.')) as Signal;
    const [from, to] = m.flow === 'fwd' ? [m, s] : [s, m];
    (to as DrivenSignal).set(from);
  }
}

function describeReadOnly(s: Signal): string {
  if (s instanceof InPort) return 'an input of this module';
  if (s instanceof InstanceOutput) return 'an output of a submodule';
  return `a ${s.kind}`;
}

// Standard interfaces. Each is a spec from the master's side.

/** A valid/ready stream carrying `payload`. */
export function streamSpec<P extends Spec>(payload: P) {
  return { valid: Bool, ready: flip(Bool), payload };
}

export interface AxisOptions {
  dataWidth: number;
  user?: number;
  id?: number;
  dest?: number;
}

type AxisBase = { tdata: HwType; tkeep: HwType; tvalid: HwType; tready: Flipped<HwType>; tlast: HwType };
type Has<O, K extends string, F extends string> = O extends { [k in K]: number } ? { [f in F]: HwType } : unknown;
/** The AXI4-Stream spec for options O: tuser, tid and tdest appear only when their width is given. */
export type AxisSpec<O extends AxisOptions> = AxisBase & Has<O, 'user', 'tuser'> & Has<O, 'id', 'tid'> & Has<O, 'dest', 'tdest'>;

/** AXI4-Stream with tdata, tkeep, tvalid, tready, tlast, and tuser/tid/tdest when their widths are given. */
export function axisSpec<O extends AxisOptions>(o: O): AxisSpec<O> {
  const loc = captureSource();
  if (!Number.isInteger(o.dataWidth) || o.dataWidth < 8 || o.dataWidth % 8 !== 0) {
    throw new ElaborationError(`AXI4-Stream data width ${o.dataWidth} is not a whole number of bytes`, loc);
  }
  const spec: Record<string, Spec> = {
    tdata: UInt(o.dataWidth),
    tkeep: UInt(o.dataWidth / 8),
    tvalid: Bool,
    tready: flip(Bool),
    tlast: Bool,
  };
  if (o.user) spec.tuser = UInt(o.user);
  if (o.id) spec.tid = UInt(o.id);
  if (o.dest) spec.tdest = UInt(o.dest);
  return spec as AxisSpec<O>;
}

export interface AxiLiteOptions {
  addrWidth: number;
  dataWidth: 32 | 64;
}

/** AXI4-Lite: five channels with their standard names. */
export function axiLiteSpec(o: AxiLiteOptions) {
  const d = o.dataWidth;
  return {
    awaddr: UInt(o.addrWidth),
    awprot: UInt(3),
    awvalid: Bool,
    awready: flip(Bool),
    wdata: UInt(d),
    wstrb: UInt(d / 8),
    wvalid: Bool,
    wready: flip(Bool),
    bresp: flip(UInt(2)),
    bvalid: flip(Bool),
    bready: Bool,
    araddr: UInt(o.addrWidth),
    arprot: UInt(3),
    arvalid: Bool,
    arready: flip(Bool),
    rdata: flip(UInt(d)),
    rresp: flip(UInt(2)),
    rvalid: flip(Bool),
    rready: Bool,
  };
}

export interface Axi4Options {
  addrWidth: number;
  dataWidth: number;
  idWidth: number;
}

/** AXI4 (full) with bursts and IDs; cache/prot/qos/region/lock are carried so vendor bridges connect. */
export function axi4Spec(o: Axi4Options) {
  const d = o.dataWidth;
  const id = UInt(o.idWidth);
  return {
    awid: id,
    awaddr: UInt(o.addrWidth),
    awlen: UInt(8),
    awsize: UInt(3),
    awburst: UInt(2),
    awlock: Bool,
    awcache: UInt(4),
    awprot: UInt(3),
    awvalid: Bool,
    awready: flip(Bool),
    wdata: UInt(d),
    wstrb: UInt(d / 8),
    wlast: Bool,
    wvalid: Bool,
    wready: flip(Bool),
    bid: flip(id),
    bresp: flip(UInt(2)),
    bvalid: flip(Bool),
    bready: Bool,
    arid: id,
    araddr: UInt(o.addrWidth),
    arlen: UInt(8),
    arsize: UInt(3),
    arburst: UInt(2),
    arlock: Bool,
    arcache: UInt(4),
    arprot: UInt(3),
    arvalid: Bool,
    arready: flip(Bool),
    rid: flip(id),
    rdata: flip(UInt(d)),
    rresp: flip(UInt(2)),
    rlast: flip(Bool),
    rvalid: flip(Bool),
    rready: Bool,
  };
}

export type { Tree };
