// Turning what others sent into something safe and readable. Text always ends up in textContent;
// this only makes control characters visible instead of letting them act (docs/protocol.md §10.4).

/** Control characters become visible symbols; line breaks and tabs stay. */
export function visibleText(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code); // ␀ … ␟
    if (code === 0x7f) return '\u2421'; // ␡
    return '\ufffd';
  });
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function shortTime(ms: number): string {
  return timeFormat.format(new Date(ms));
}

export function fullTime(ms: number): string {
  return fullFormat.format(new Date(ms));
}

/** A stable hue for a username, so that each person keeps a colour. */
export function nameHue(name: string): number {
  let hash = 2166136261;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 16777619);
  }
  return (hash >>> 0) % 360;
}

/** The first letter (a whole code point) of a name, for its avatar. */
export function initial(name: string): string {
  const first = Array.from(visibleText(name).trim())[0] ?? '?';
  return first.toLocaleUpperCase();
}
