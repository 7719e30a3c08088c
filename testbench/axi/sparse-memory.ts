/** A byte-addressed sparse memory (4 KiB pages allocated on first write; unwritten bytes read as 0). */

const pageBits = 12;
const pageSize = 1 << pageBits;

export class SparseMemory {
  private readonly pages = new Map<number, Uint8Array>();

  private page(addr: number, create: boolean): Uint8Array | undefined {
    const key = Math.floor(addr / pageSize);
    let p = this.pages.get(key);
    if (!p && create) {
      p = new Uint8Array(pageSize);
      this.pages.set(key, p);
    }
    return p;
  }

  readByte(addr: number): number {
    return this.page(addr, false)?.[addr % pageSize] ?? 0;
  }

  writeByte(addr: number, value: number): void {
    (this.page(addr, true) as Uint8Array)[addr % pageSize] = value & 0xff;
  }

  read(addr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let at = 0; at < length; ) {
      const offset = (addr + at) % pageSize;
      const n = Math.min(length - at, pageSize - offset);
      const p = this.page(addr + at, false);
      if (p) out.set(p.subarray(offset, offset + n), at);
      at += n;
    }
    return out;
  }

  write(addr: number, data: Uint8Array): void {
    for (let at = 0; at < data.length; ) {
      const offset = (addr + at) % pageSize;
      const n = Math.min(data.length - at, pageSize - offset);
      (this.page(addr + at, true) as Uint8Array).set(data.subarray(at, at + n), offset);
      at += n;
    }
  }

  /** A little-endian unsigned value of `bytes` bytes. */
  readUint(addr: number, bytes: number): bigint {
    let v = 0n;
    for (let i = bytes - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.readByte(addr + i));
    return v;
  }

  writeUint(addr: number, bytes: number, value: bigint | number): void {
    let v = BigInt(value);
    for (let i = 0; i < bytes; i++) {
      this.writeByte(addr + i, Number(v & 0xffn));
      v >>= 8n;
    }
  }
}
