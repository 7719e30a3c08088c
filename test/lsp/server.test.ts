/**
 * The language server (lsp/server.ts) driven by a real LSP client: diagnostics of design files with
 * known mistakes at the right lines, cleared once fixed; a register hover; the code lenses.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeLens, Hover } from 'vscode-languageserver/node';
import { projectRoot, startServer, type TestClient } from './client.js';

// Elaboration runs in a child process; on a loaded machine tsx's start alone can take seconds.
const ELABORATION = 60_000;

// Inside the package (so that 'cdna-nic' resolves), in the git-ignored build/.
const work = path.join(projectRoot, 'build', `lsp-test-${process.pid}`);
const fixture = (name: string) => path.join(projectRoot, 'test', 'lsp', 'fixtures', name);

let client: TestClient;
beforeAll(async () => {
  mkdirSync(work, { recursive: true });
  client = await startServer();
});
afterAll(async () => {
  await client?.close();
  rmSync(work, { recursive: true, force: true });
});

function open(file: string) {
  const uri = pathToFileURL(file).href;
  const text = readFileSync(file, 'utf8');
  void client.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'typescript', version: 1, text } });
  return uri;
}

/** Opens `file` and waits for its first diagnostics. */
async function openChecked(file: string) {
  const got = client.nextDiagnostics(pathToFileURL(file).href, ELABORATION);
  open(file);
  return got;
}

async function rewrite(file: string, text: string, version: number) {
  const uri = pathToFileURL(file).href;
  writeFileSync(file, text);
  await client.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
  await client.connection.sendNotification('textDocument/didSave', { textDocument: { uri } });
}

describe('diagnostics', () => {
  it('a width mismatch: one error at its line, cleared when fixed', { timeout: 3 * ELABORATION }, async () => {
    const file = path.join(work, 'widthMismatch.ts');
    copyFileSync(fixture('widthMismatch.ts'), file);
    const uri = pathToFileURL(file).href;
    const diags = await openChecked(file);
    expect(diags).toHaveLength(1);
    const [d] = diags;
    expect(d?.source).toBe('cdna');
    expect(d?.severity).toBe(1);
    expect(d?.message).toBe("cannot assign a 16-bit value to 'y' (8 bits); say trunc(8) if that is meant");
    // Line 8 (0-based 7), `    y.set(a);` trimmed to its text.
    expect(d?.range).toEqual({ start: { line: 7, character: 4 }, end: { line: 7, character: 13 } });

    const cleared = client.nextDiagnostics(uri, ELABORATION);
    await rewrite(file, readFileSync(file, 'utf8').replace("m.input('a', UInt(16))", "m.input('a', UInt(8))"), 2);
    expect(await cleared).toEqual([]);
  });

  it('a latch: the error at the signal, the open path as related information', { timeout: ELABORATION }, async () => {
    const diags = await openChecked(fixture('latch.ts'));
    expect(diags).toHaveLength(1);
    expect(diags[0]?.range.start.line).toBe(6);
    expect(diags[0]?.message).toMatch(/^combinational 'y' is not assigned on every path \(this would infer a latch\)/);
    expect(diags[0]?.relatedInformation?.[0]?.location.range.start.line).toBe(7);
  });

  it('a syntax error: one diagnostic at its line', { timeout: ELABORATION }, async () => {
    const file = path.join(work, 'syntax.ts');
    writeFileSync(file, "import { defineModule } from 'cdna-nic';\n\nexport const broken = 1 +;\nexport default defineModule;\n");
    const diags = await openChecked(file);
    expect(diags).toHaveLength(1);
    expect(diags[0]?.range.start.line).toBe(2);
    expect(diags[0]?.message).toMatch(/^syntax error: /);
  });
});

describe('hover and code lenses', () => {
  it('a register name in a string shows its offset, fields, reset and lock rule from the map', async () => {
    const file = path.join(work, 'regs.ts');
    const text = "// not a design file\nexport const reg = 'TX_EXP_SEQ';\n";
    writeFileSync(file, text);
    const uri = open(file);
    const hover = (await client.connection.sendRequest('textDocument/hover', {
      textDocument: { uri },
      position: { line: 1, character: 22 },
    })) as Hover;
    const value = (hover.contents as { value: string }).value;
    expect(value).toContain('**TX_EXP_SEQ** (BAR1, the block of context c)');
    expect(value).toContain('offset `0x01c`');
    expect(value).toContain('reset `0x00000001`');
    expect(value).toContain("locked while the context's CTRL.EN is set");
    expect(value).toContain('| [31:0] | `SEQ` | RW | 0x1 |');
    const none = await client.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: 1, character: 8 } });
    expect(none).toBeNull();
  });

  it('lenses over each design export: generate, lint, synthesize, test', { timeout: ELABORATION }, async () => {
    const file = path.join(projectRoot, 'examples', 'axis-filter', 'axisFilter.ts');
    const uri = pathToFileURL(file).href;
    expect(await openChecked(file)).toEqual([]);
    const lenses = (await client.connection.sendRequest('textDocument/codeLens', { textDocument: { uri } })) as CodeLens[];
    const rows = new Map<string, string[]>();
    for (const l of lenses) {
      const target = l.command?.arguments?.[0] as { file: string; exportName: string };
      expect(target.file).toBe(file);
      rows.set(target.exportName, [...(rows.get(target.exportName) ?? []), l.command?.command ?? '']);
    }
    expect([...rows.keys()].sort()).toEqual(['axisFilter', 'default']);
    expect(rows.get('default')).toEqual(['cdna.generate', 'cdna.lint', 'cdna.synth', 'cdna.test']);
  });
});
