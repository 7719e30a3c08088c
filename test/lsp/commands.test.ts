/**
 * The server as other editors use it: started by `cdna lsp --stdio`, running a code lens command on
 * workspace/executeCommand (the CLI, reported by window/showMessage); the elaboration time limit.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { elaborate } from '../../lsp/elaborate.js';
import { projectRoot, startServer } from './client.js';

const work = path.join(projectRoot, 'build', `lsp-commands-${process.pid}`);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('cdna lsp --stdio', () => {
  it('runs cdna generate on workspace/executeCommand, reported by window/showMessage', { timeout: 120_000 }, async () => {
    const client = await startServer({}, [path.join(projectRoot, 'bin', 'cdna.js'), 'lsp', '--stdio', '--timeout', '60']);
    try {
      const file = path.join(projectRoot, 'examples', 'axis-filter', 'axisFilter.ts');
      const outcome = (await client.connection.sendRequest('workspace/executeCommand', {
        command: 'cdna.generate',
        arguments: [{ file, exportName: 'default' }],
      })) as { ok: boolean; command: string; tail: string };
      expect(outcome.command).toBe(`cdna generate --design ${file} --top default`);
      expect(outcome.tail).toMatch(/axis_filter__COUNT_W_16__DATA_W_32: .*files\.f/);
      expect(outcome.ok).toBe(true);
      expect(client.messages.some((m) => /^cdna generate \(default\): done/.test(m.message))).toBe(true);
    } finally {
      await client.close();
    }
  });
});

describe('the time limit', () => {
  it('a design that never finishes is stopped and reported', { timeout: 60_000 }, async () => {
    mkdirSync(work, { recursive: true });
    const file = path.join(work, 'forever.ts');
    writeFileSync(file, "import { defineModule } from 'cdna-nic';\nwhile (Date.now() > 0) {}\nexport default defineModule;\n");
    const report = await elaborate(file, { timeoutMs: 3000 }).result;
    expect(report.timedOut).toBe(true);
    expect(report.findings[0]?.message).toMatch(/did not finish within 3 s and was stopped/);
  });
});
