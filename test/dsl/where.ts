/**
 * Where a test expects an elaboration error to point: the test file and a line in it. Errors must name
 * the line that built the offending node, so tests take the line from the stack, never hard-code it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { ElaborationError, formatLoc } from '../../generator/index.js';

export interface Where {
  file: string;
  line: number;
}

const framePattern = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?$/;

/** The caller's file and line, shifted by `offset` lines. */
function callerLine(offset: number): Where {
  const lines = (new Error().stack ?? '').split('\n');
  // [0] "Error", [1] callerLine, [2] nextLine/thisLine, [3] the test.
  const m = framePattern.exec((lines[3] ?? '').trim());
  if (!m) throw new Error(`cannot read a line from the stack:\n${lines.join('\n')}`);
  const raw = m[1] as string;
  const file = raw.startsWith('file://') ? fileURLToPath(raw) : raw;
  return { file: path.resolve(file), line: Number(m[2]) + offset };
}

/** The line after the one this is called on: put the statement that builds the offending node there. */
export function nextLine(): Where {
  return callerLine(1);
}

/** The line this is called on. */
export function thisLine(): Where {
  return callerLine(0);
}

/**
 * A line to be marked while a design elaborates: call `at.next()` just before the statement that
 * builds the offending node, inside the module body. `expectError` reads it after the build ran.
 */
export class Marker {
  where: Where | null = null;

  next(): void {
    this.where = callerLine(1);
  }
}

export function marker(): Marker {
  return new Marker();
}

function resolve(w: Where | Marker): Where {
  if (!(w instanceof Marker)) return w;
  if (!w.where) throw new Error('the marker was never set: the build failed before reaching the marked line');
  return w.where;
}

/** `test/dsl/expr.test.ts:42`, as an ElaborationError prints it. */
export function shown(w: Where): string {
  return formatLoc({ file: w.file, line: w.line, column: 0 });
}

/**
 * Runs `build`, expects an ElaborationError whose text contains `text` (or matches it) and whose primary
 * location is `at`; `related` lists further locations the error must name.
 */
export function expectError(
  build: () => unknown,
  where: Where | Marker,
  text: string | RegExp,
  related: (Where | Marker)[] = [],
): ElaborationError {
  let caught: unknown;
  try {
    build();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof ElaborationError)) {
    throw new Error(`expected an ElaborationError matching ${String(text)}, got ${caught === undefined ? 'no error' : String(caught)}`);
  }
  const at = resolve(where);
  expect(
    caught.message.startsWith(`${shown(at)}: `),
    `error names ${formatLoc(caught.loc)}, expected ${shown(at)}:\n${caught.message}`,
  ).toBe(true);
  if (typeof text === 'string') expect(caught.detail).toContain(text);
  else expect(caught.detail).toMatch(text);
  for (const r of related) expect(caught.message).toContain(`at ${shown(resolve(r))}`);
  return caught;
}
