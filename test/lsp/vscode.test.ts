/**
 * The VS Code extension: `npm run package:vscode` writes build/vscode/cdna-<version>.vsix at the
 * project's version, with the bundled client and the commands; the waveform finder.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestWaveform, onPath } from '../../editor/vscode/src/waveform.js';
import { projectRoot } from './client.js';
import { readZip } from './zip.js';

const version = (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('packaging', () => {
  it('npm run package:vscode writes the .vsix, naming the commands', { timeout: 180_000 }, () => {
    execFileSync('npm', ['run', '--silent', 'package:vscode'], {
      cwd: projectRoot,
      stdio: 'pipe',
      env: { ...process.env, CDNA_BUILD_DIR: '' },
    });
    const vsix = path.join(projectRoot, 'build', 'vscode', `cdna-${version}.vsix`);
    const files = readZip(vsix);
    expect([...files.keys()]).toContain('extension/out/extension.js');
    const manifest = JSON.parse((files.get('extension/package.json') as () => Buffer)().toString('utf8')) as {
      version: string;
      main: string;
      contributes: { commands: { command: string }[] };
    };
    expect(manifest.version).toBe(version);
    expect(manifest.main).toBe('./out/extension.js');
    expect(manifest.contributes.commands.map((c) => c.command)).toEqual([
      'cdna.generate',
      'cdna.lint',
      'cdna.synth',
      'cdna.test',
      'cdna.prove',
      'cdna.openWaveform',
    ]);
    const bundle = (files.get('extension/out/extension.js') as () => Buffer)().toString('utf8');
    expect(bundle).toContain('cdna.openWaveform');
    expect(bundle).toContain('lsp');
  });

  it("the extension's package.json is at the project's version", () => {
    const manifest = JSON.parse(readFileSync(path.join(projectRoot, 'editor', 'vscode', 'package.json'), 'utf8')) as { version: string };
    expect(manifest.version).toBe(version);
  });
});

describe('open waveform', () => {
  it('finds the newest .fst or .vcd under the build dir, and viewers on PATH', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdna-wave-'));
    try {
      expect(newestWaveform(dir)).toBeNull();
      mkdirSync(path.join(dir, 'formal', 'v1'), { recursive: true });
      const old = path.join(dir, 'a.vcd');
      const recent = path.join(dir, 'formal', 'v1', 'cex.fst');
      writeFileSync(old, '');
      writeFileSync(recent, '');
      writeFileSync(path.join(dir, 'notes.txt'), '');
      utimesSync(old, new Date(1_000_000), new Date(1_000_000));
      expect(newestWaveform(dir)).toBe(recent);
      const bin = path.join(dir, 'bin');
      mkdirSync(bin);
      writeFileSync(path.join(bin, 'gtkwave'), '', { mode: 0o755 });
      expect(onPath(['surfer', 'gtkwave'], bin)).toBe(path.join(bin, 'gtkwave'));
      expect(onPath(['surfer'], bin)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
