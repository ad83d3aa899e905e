// Validation of names (§2): 1–255 bytes of valid UTF-8 without C0, DEL or C1 control characters.
// No Node APIs here: the renderer uses it to check the form before asking the main process.

import { MAX_NAME_BYTES } from './limits';
import { isWellFormed, utf8Length } from './utf8';

export type NameProblem = 'empty' | 'too_long' | 'control_character' | 'invalid_text';

/** Returns undefined for a valid name, otherwise what is wrong with it. */
export function checkName(name: string): NameProblem | undefined {
  if (name.length === 0) return 'empty';
  if (!isWellFormed(name)) return 'invalid_text';
  if (utf8Length(name) > MAX_NAME_BYTES) return 'too_long';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) return 'control_character';
  }
  return undefined;
}

export function describeNameProblem(what: string, problem: NameProblem): string {
  switch (problem) {
    case 'empty':
      return `The ${what} cannot be empty.`;
    case 'too_long':
      return `The ${what} is too long: at most ${MAX_NAME_BYTES} bytes of UTF-8.`;
    case 'control_character':
      return `The ${what} cannot contain control characters (such as tabs or line breaks).`;
    case 'invalid_text':
      return `The ${what} contains characters that cannot be encoded.`;
  }
}
