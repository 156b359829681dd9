const CHECK_LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ';

/** The UAI's check letter: the 7-digit number modulo 23, as a letter without I, O and Q. */
export function uaiCheckLetter(digits: string): string {
  return CHECK_LETTERS[Number(digits) % 23]!;
}

/** An 8-character UAI: 7 digits and the right check letter (e.g. 0690037R). */
export function isValidUai(uai: string): boolean {
  return /^[0-9]{7}[A-Z]$/.test(uai) && uaiCheckLetter(uai.slice(0, 7)) === uai[7];
}

export const UAI_PATTERN = '^[0-9]{7}[A-HJ-NPR-Z]$';
