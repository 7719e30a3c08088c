/**
 * The hardware DSL: types, expressions, modules, bundles, FSMs, the Verilog emitter, and the library of
 * blocks. Users import it as `cdna-nic` (package.json "exports"; docs/dsl.md, "Your own design").
 */
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
export type { CrossingSummary } from './dsl/cdc.js';
export { crossingSummaryOf } from './dsl/cdc.js';
export type { DomainOptions, ResetActive, ResetKind } from './dsl/domain.js';
export { ClockDomain } from './dsl/domain.js';
export { ElaborationError } from './dsl/errors.js';
export type { Operand } from './dsl/expr.js';
export { all, any, cat, Expr, lit, mux, select } from './dsl/expr.js';
export type { Property, PropertyKind } from './dsl/formal.js';
export { GhostReg, MAX_PAST } from './dsl/formal.js';
export { Fsm, fsm } from './dsl/fsm.js';
export type {
  Instance,
  InstanceOptions,
  MemoryOptions,
  ModuleDef,
  Params,
  ParamValue,
  RamStyle,
  ReadUnderWrite,
  RegOptions,
  Stmt,
} from './dsl/module.js';
export { clearDefinitions, defineModule, Memory, ModuleBuilder, SwitchChain, WhenChain } from './dsl/module.js';
export { analysisOf } from './dsl/passes.js';
export type { SynchronizerStage } from './dsl/signal.js';
export { DrivenSignal, InPort, InstanceInput, InstanceOutput, OutPort, Reg, Signal, Wire } from './dsl/signal.js';
export type { SourceLoc } from './dsl/source.js';
export { formatLoc } from './dsl/source.js';
export type { HwType } from './dsl/types.js';
export { Bool, bitsFor, isPow2, log2Ceil, SInt, UInt } from './dsl/types.js';
export { DrivenVec, Vec } from './dsl/vec.js';
// The library of blocks (generator/lib; docs/dsl.md, "The library").
export type {
  FifoStorage,
  LowestSetBit,
  PriorityEncoderIO,
  PriorityEncoderOptions,
  RrArbiterIO,
  RrArbiterOptions,
  SaturatingCounterIO,
  SaturatingCounterOptions,
  SkidBufferIO,
  SkidBufferOptions,
  SyncFifoIO,
  SyncFifoOptions,
  UpCounterIO,
  UpCounterOptions,
} from './lib/index.js';
export {
  blockRamMinDepth,
  dataStreamSpec,
  lowestSetBit,
  priorityEncoder,
  requireInt,
  rrArbiter,
  saturatingCounter,
  skidBuffer,
  syncFifo,
  upCounter,
} from './lib/index.js';
export type { EmitOptions, EmittedModule } from './verilog/emit.js';
export { emitDesign } from './verilog/emit.js';
export type { WrittenDesign } from './verilog/write.js';
export { writeDesign } from './verilog/write.js';
