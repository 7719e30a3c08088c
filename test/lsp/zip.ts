/** Reads one file out of a zip (a .vsix) with node's zlib: enough of the format for the packaging test. */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/** The names of the files in a zip, and a reader of each (stored or deflated entries). */
export function readZip(file: string): Map<string, () => Buffer> {
  const zip = readFileSync(file);
  // The end-of-central-directory record: the last 0x06054b50 in the file.
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error(`${file} is not a zip`);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries = new Map<string, () => Buffer>();
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLen);
    entries.set(name, () => {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + size);
      return method === 0 ? Buffer.from(data) : inflateRawSync(data);
    });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
