/** CRC-32 of IEEE 802.3 (the Ethernet FCS): reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF. */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `bytes`, as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The 4 FCS bytes as they go on the wire after the frame: the CRC least-significant byte first. */
export function fcsBytes(frame: Uint8Array): Uint8Array {
  const c = crc32(frame);
  return Uint8Array.of(c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24);
}

/** True when the last 4 bytes of `frameWithFcs` are the correct FCS of the bytes before them. */
export function hasGoodFcs(frameWithFcs: Uint8Array): boolean {
  if (frameWithFcs.length < 4) return false;
  // Running the CRC over data plus its FCS leaves the fixed 802.3 residue.
  return crc32(frameWithFcs) === 0x2144df1c;
}
