/**
 * Which files the language server elaborates, and where their exports are: cheap text tests, no
 * TypeScript parse (they run on every open and save).
 */

const scriptFile = /\.(?:[cm]?ts|tsx)$/;
const testFile = /\.(?:test|spec|bench)\.[cm]?tsx?$/;
// `from 'cdna-nic'` (the package's main entry: the DSL), or a relative import into generator/ (the
// project's own designs under hdl/). Subpaths such as 'cdna-nic/sim' are the simulator and testbench:
// a test file, not a design.
const dslImport = /\bfrom\s+['"](?:cdna-nic|(?:\.\.?\/)+(?:[\w.-]+\/)*generator(?:\/[\w./-]*)?)['"]/;

/**
 * A design file: a TypeScript file (not a test or bench file) that imports the DSL, `cdna-nic` or a
 * path into generator/. The DSL's own sources (generator/) are not design files.
 */
export function isDesignFile(file: string, text: string): boolean {
  if (!scriptFile.test(file) || testFile.test(file) || file.endsWith('.d.ts')) return false;
  if (/[\\/]generator[\\/](?:dsl|verilog|lib)[\\/]/.test(file) || /[\\/]node_modules[\\/]/.test(file)) return false;
  return dslImport.test(text);
}

export interface ExportSite {
  /** The export's name (`default` for `export default`). */
  name: string;
  /** 0-based line of the `export` keyword. */
  line: number;
  /** It is declared as a function, or as a const (what a design or a design function is). */
  declared: 'function' | 'const' | 'default' | 'list' | 'class';
}

const declaration =
  /^\s*export\s+(default\s+)?(?:async\s+)?(?:(function)\s*\*?\s*([A-Za-z_$][\w$]*)?|(const|let|var)\s+([A-Za-z_$][\w$]*)|(class)\s+([A-Za-z_$][\w$]*))/;
const defaultExpr = /^\s*export\s+default\b/;
const list = /^\s*export\s*\{([^}]*)\}(?!\s*from)/;

/** The file's exports as `cdna generate --top` names them, each at the line that declares it. */
export function exportSites(text: string): ExportSite[] {
  const sites: ExportSite[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((src, line) => {
    const d = declaration.exec(src);
    if (d) {
      if (d[1]) sites.push({ name: 'default', line, declared: 'default' });
      else if (d[2]) sites.push({ name: d[3] as string, line, declared: 'function' });
      else if (d[4]) sites.push({ name: d[5] as string, line, declared: 'const' });
      else if (d[6]) sites.push({ name: d[7] as string, line, declared: 'class' });
      return;
    }
    if (defaultExpr.test(src)) {
      sites.push({ name: 'default', line, declared: 'default' });
      return;
    }
    const l = list.exec(src);
    if (l) {
      for (const part of (l[1] as string).split(',')) {
        const words = part.trim().split(/\s+as\s+/);
        const name = (words[1] ?? words[0] ?? '').trim();
        if (/^[A-Za-z_$][\w$]*$/.test(name) && !/^type\s/.test(part.trim())) sites.push({ name, line, declared: 'list' });
      }
    }
  });
  return sites;
}
