import { formatLoc, type SourceLoc } from './source.js';

/** An error found while elaborating a design; it names the TypeScript line that made the offending node. */
export class ElaborationError extends Error {
  constructor(
    readonly detail: string,
    readonly loc: SourceLoc,
    readonly related: { what: string; loc: SourceLoc }[] = [],
  ) {
    const more = related.map((r) => `\n  ${r.what} at ${formatLoc(r.loc)}`).join('');
    super(`${formatLoc(loc)}: ${detail}${more}`);
    this.name = 'ElaborationError';
  }
}
