/**
 * 48-bit MAC addresses held as plain numbers (exact: 2^48 < 2^53), aa:bb:cc:dd:ee:ff being
 * 0xaabbccddeeff. Parsing, formatting and the group bit come from the register map's MAC-table
 * module, so the testbench and the NIC's models number MACs the same way.
 */
import { isMulticastMac } from '../../hdl/registers/macTable.js';

export { BROADCAST_MAC, formatMac, macFromBytes, parseMac } from '../../hdl/registers/macTable.js';

export type MacAddress = number;

const MAC_MAX = 0xffff_ffff_ffff;

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

export function isBroadcast(mac: MacAddress): boolean {
  return mac === MAC_MAX;
}

/** Group address (I/G bit set) other than broadcast. */
export function isMulticast(mac: MacAddress): boolean {
  return !isBroadcast(mac) && isMulticastMac(mac);
}

export function isUnicast(mac: MacAddress): boolean {
  return !isMulticastMac(mac);
}

/** A locally administered unicast address whose low bytes carry `index` (02:cd:..): handy for guests. */
export function localMac(index: number): MacAddress {
  if (!Number.isInteger(index) || index < 0 || index > 0xffff_ffff) {
    throw new Error(`localMac index ${index} must be an integer in 0..2^32-1`);
  }
  return 0x02cd * 2 ** 32 + index;
}
