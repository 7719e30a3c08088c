/** The word under the cursor, for the register hover. */

const wordChar = /[A-Za-z0-9_]/;

/** The identifier-like word around `offset` in `text` (an identifier, or the inside of 'TX_EXP_SEQ'), or null. */
export function wordAt(text: string, offset: number): string | null {
  let start = offset;
  let end = offset;
  while (start > 0 && wordChar.test(text[start - 1] as string)) start--;
  while (end < text.length && wordChar.test(text[end] as string)) end++;
  return end > start ? text.slice(start, end) : null;
}

/** Register names are upper case with digits and underscores (`TX_EXP_SEQ`, `ID`). */
export function mayBeRegisterName(word: string): boolean {
  return /^[A-Z][A-Z0-9_]*$/.test(word);
}
