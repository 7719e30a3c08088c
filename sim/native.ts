/** The shape of a model's .node (see native/shim.cpp), and loading it. */
import { createRequire } from 'node:module';
import type { PortInfo } from './ports.js';

export interface NativeInfo {
  abi: number;
  top: string;
  clock: string | null;
  trace: 'none' | 'vcd' | 'fst';
  rootSize: number;
  sampleSize: number;
  ports: PortInfo[];
}

export interface NativeInstance {
  /** The model's root structure (ports live here). */
  memory: ArrayBuffer;
  /** Port values copied just before the last rising edge. */
  sample: ArrayBuffer;
  step(): void;
  tick(n: number): void;
  eval(): void;
  traceOpen(path: string): boolean;
  traceClose(): void;
  traceFlush(): void;
  time(): bigint;
  gotFinish(): boolean;
  destroy(self: NativeInstance): void;
}

export interface NativeModel {
  info(): NativeInfo;
  /** A fresh instance; `randReset` 2 gives every variable a random initial value drawn from `seed` (see cdna_create_options). */
  create(randReset?: number, seed?: number): NativeInstance;
}

/** The ABI version this TypeScript side speaks (CDNA_MODEL_ABI in native/cdna_model.h). */
export const modelAbi = 2;

const require = createRequire(import.meta.url);

export function loadNative(nodePath: string): NativeModel {
  const m = require(nodePath) as NativeModel;
  const abi = m.info().abi;
  if (abi !== modelAbi) {
    throw new Error(`${nodePath} speaks model ABI ${abi}, this code expects ${modelAbi}; delete build/sim and rebuild`);
  }
  return m;
}
