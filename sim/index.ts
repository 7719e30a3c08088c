/**
 * The Verilator bridge: build a model from a DSL module or Verilog, load it, and drive it through
 * port views over its memory. See docs/testbench.md.
 */
export type { BuildOptimize, BuildSpec, BuiltModel, VerilogText } from './build.js';
export { buildModel } from './build.js';
export type { ClockSpec, EdgeHandlers } from './clocks.js';
export { ClockSet } from './clocks.js';
export { BuildError } from './exec.js';
export type { TraceFormat } from './glue.js';
export type { InputLog, InputSpan } from './input-log.js';
export { INPUT_LOG_CYCLES, INPUT_LOG_EVAL } from './input-log.js';
export type { PortInput, PortValue, PortValues } from './port-class.js';
export { readWords, writeWords } from './port-class.js';
export type { PortDir, PortInfo } from './ports.js';
export { portBytes } from './ports.js';
export type { Design, SimulateOptions, VerilogDesign } from './simulate.js';
export { simulate, specOf, verilogOf } from './simulate.js';
export type { LoadOptions, Port, ResetOptions, SampleWatch, XInitOptions } from './simulation.js';
export { loadModel, Simulation, Waves } from './simulation.js';
export { ToolchainError, toolchain } from './toolchain.js';
export type { WaveHeader, WaveSignal } from './wave-file.js';
export { readWaveHeader } from './wave-file.js';
export type { WavesOption } from './waves.js';
