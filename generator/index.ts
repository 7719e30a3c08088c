/** The hardware DSL: types, expressions, modules, bundles, FSMs, and the Verilog emitter. */
export type {
  Axi4Options,
  AxiLiteOptions,
  AxisOptions,
  AxisSpec,
  InstancePorts,
  MasterPorts,
  SlavePorts,
  Spec,
  WireBundle,
} from './dsl/bundle.js';
export { axi4Spec, axiLiteSpec, axisSpec, connect, Flipped, flip, streamSpec } from './dsl/bundle.js';
export { ElaborationError } from './dsl/errors.js';
export type { Operand } from './dsl/expr.js';
export { all, any, cat, Expr, lit, mux, select } from './dsl/expr.js';
export type { Property, PropertyKind } from './dsl/formal.js';
export { GhostReg, MAX_PAST } from './dsl/formal.js';
export { Fsm, fsm } from './dsl/fsm.js';
export type { Instance, MemoryOptions, ModuleDef, Params, ParamValue, ReadUnderWrite, Stmt } from './dsl/module.js';
export { clearDefinitions, defineModule, Memory, ModuleBuilder, SwitchChain, WhenChain } from './dsl/module.js';
export { analysisOf } from './dsl/passes.js';
export { DrivenSignal, InPort, InstanceInput, InstanceOutput, OutPort, Reg, Signal, Wire } from './dsl/signal.js';
export type { SourceLoc } from './dsl/source.js';
export { formatLoc } from './dsl/source.js';
export type { HwType } from './dsl/types.js';
export { Bool, bitsFor, isPow2, log2Ceil, SInt, UInt } from './dsl/types.js';
export { DrivenVec, Vec } from './dsl/vec.js';
export type { EmittedModule } from './verilog/emit.js';
export { emitDesign } from './verilog/emit.js';
export { writeDesign } from './verilog/write.js';
