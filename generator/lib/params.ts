/** Checks of the library blocks' generation parameters, so a bad value fails with a message naming it. */

/** Throws a RangeError unless `value` is a whole number in min..max. */
export function requireInt(block: string, name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${block}: ${name} = ${value} is not allowed; it must be a whole number from ${min} to ${max}`);
  }
}
