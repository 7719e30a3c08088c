/**
 * What an elaboration of a design file found, as the child process (elaborateChild.ts) reports it to
 * the language server. Plain data: it crosses a process boundary as JSON.
 */

/** A place in a TypeScript file; `line` counts from 1 (as ElaborationError's SourceLoc does). */
export interface Place {
  file: string;
  line: number;
}

export interface Finding {
  severity: 'error' | 'warning';
  /** The message without its `file:line: ` prefix. */
  message: string;
  /** Where the finding points; null when no line is known (it is then shown at the export or at line 1). */
  at: Place | null;
  related: { message: string; at: Place }[];
  /** The export being elaborated when it was found; null while loading the file. */
  exportName: string | null;
}

/** How an export of the file was treated. */
export type ExportKind =
  /** a design (a ModuleDef), elaborated when the file was imported */
  | 'design'
  /** a function without required parameters that returned a design */
  | 'function'
  /** a function with required parameters: not called (its parameters are unknown) */
  | 'function-with-params'
  /** anything else (a constant, a helper returning something other than a design) */
  | 'other';

export interface ExportInfo {
  name: string;
  kind: ExportKind;
  /** The Verilog name of the design it gave, when it gave one. */
  design?: string;
}

export interface ElaborationReport {
  file: string;
  /** The file could not be imported (a syntax error, a failed import, an error at its top level). */
  loadFailed: boolean;
  exports: ExportInfo[];
  findings: Finding[];
  /** The elaboration was stopped at the time limit. */
  timedOut: boolean;
  ms: number;
}
