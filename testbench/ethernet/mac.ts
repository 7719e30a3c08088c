/** 48-bit MAC addresses held as plain numbers (exact: 2^48 < 2^53), with the I/G and U/L bits of IEEE 802. */

export type MacAddress = number;

export const BROADCAST_MAC: MacAddress = 0xffff_ffff_ffff;
const MAC_MAX = 0xffff_ffff_ffff;

/** Parses `02:00:00:00:00:01` (or with `-` separators). */
export function parseMac(text: string): MacAddress {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`bad MAC address '${text}': expected six hex bytes such as 02:00:00:00:00:01`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number.parseInt(p, 16), 0);
}

export function formatMac(mac: MacAddress): string {
  return Array.from(macToBytes(mac), (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function checkMac(mac: MacAddress): MacAddress {
  if (!Number.isInteger(mac) || mac < 0 || mac > MAC_MAX) {
    throw new Error(`bad MAC address ${mac}: expected an integer in 0..2^48-1 (for example parseMac('02:00:00:00:00:01'))`);
  }
  return mac;
}

/** The 6 bytes in wire order (first byte carries the I/G bit). */
export function macToBytes(mac: MacAddress): Uint8Array {
  checkMac(mac);
  const out = new Uint8Array(6);
  let v = mac;
  for (let i = 5; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

export function macFromBytes(bytes: Uint8Array, offset = 0): MacAddress {
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + bytes[offset + i];
  return v;
}

export function isBroadcast(mac: MacAddress): boolean {
  return mac === BROADCAST_MAC;
}

/** Group address (I/G bit set) other than broadcast. */
export function isMulticast(mac: MacAddress): boolean {
  return !isBroadcast(mac) && (Math.floor(mac / 2 ** 40) & 1) === 1;
}

export function isUnicast(mac: MacAddress): boolean {
  return (Math.floor(mac / 2 ** 40) & 1) === 0;
}

/** A locally administered unicast address whose low bytes carry `index` (02:cd:na:..): handy for guests. */
export function localMac(index: number): MacAddress {
  if (!Number.isInteger(index) || index < 0 || index > 0xffff_ffff) {
    throw new Error(`localMac index ${index} must be an integer in 0..2^32-1`);
  }
  return 0x02cd * 2 ** 32 + index;
}
