// A strict JSON reader for what the server sends (§2): RFC 8259 only, a key may not repeat in an
// object, no lone surrogate escapes, and nesting is bounded. JSON.parse accepts repeated keys
// (the last wins), so it cannot be used to check payloads from the network.

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** Objects are made without a prototype, so a key such as "__proto__" is an ordinary key. */
export type JsonObject = { [key: string]: JsonValue };

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

/** Nesting deeper than this many levels is refused (the spec allows rejecting past 8). */
export const MAX_JSON_DEPTH = 8;

export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonValue {
  const parser = new Parser(text, maxDepth);
  parser.skipSpace();
  const value = parser.value(0);
  parser.skipSpace();
  if (parser.pos !== text.length) parser.fail('unexpected data after the JSON value');
  return value;
}

/** Parses a JSON text whose top level must be an object. */
export function parseJsonObject(text: string, maxDepth = MAX_JSON_DEPTH): JsonObject {
  const value = parseJson(text, maxDepth);
  if (!isJsonObject(value)) throw new JsonSyntaxError('the top level is not an object', 0);
  return value;
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own-key lookup that is safe on prototype-less objects. */
export function field(object: JsonObject, key: string): JsonValue | undefined {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Parser {
  pos = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  fail(message: string): never {
    throw new JsonSyntaxError(message, this.pos);
  }

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else break;
    }
  }

  value(depth: number): JsonValue {
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object(depth + 1);
      case '[':
        return this.array(depth + 1);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      case undefined:
        return this.fail('unexpected end of text');
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number();
        return this.fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('invalid literal');
    this.pos += word.length;
    return value;
  }

  private number(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail('invalid number');
    this.pos += match[0].length;
    const value = Number(match[0]);
    if (!Number.isFinite(value)) this.fail('number out of range');
    return value;
  }

  private string(): string {
    const t = this.text;
    this.pos++; // opening quote
    let out = '';
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated string');
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail('control character in a string');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(runStart, this.pos);
      this.pos++; // backslash
      const e = t[this.pos];
      this.pos++;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const unit = this.hex4();
          if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('lone low surrogate escape');
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (t[this.pos] !== '\\' || t[this.pos + 1] !== 'u') this.fail('lone high surrogate escape');
            this.pos += 2;
            const low = this.hex4();
            if (low < 0xdc00 || low > 0xdfff) this.fail('lone high surrogate escape');
            out += String.fromCharCode(unit, low);
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          this.pos--;
          this.fail('invalid escape');
      }
      runStart = this.pos;
    }
  }

  private hex4(): number {
    const digits = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('invalid \\u escape');
    this.pos += 4;
    return parseInt(digits, 16);
  }

  private array(depth: number): JsonValue[] {
    if (depth > this.maxDepth) this.fail('nested too deeply');
    this.pos++;
    const out: JsonValue[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      out.push(this.value(depth));
      this.skipSpace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === ']') return out;
      if (c !== ',') {
        this.pos--;
        this.fail("expected ',' or ']'");
      }
    }
  }

  private object(depth: number): JsonObject {
    if (depth > this.maxDepth) this.fail('nested too deeply');
    this.pos++;
    const out = Object.create(null) as JsonObject;
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      const keyAt = this.pos;
      const key = this.string();
      if (Object.prototype.hasOwnProperty.call(out, key)) {
        this.pos = keyAt;
        this.fail(`repeated key ${JSON.stringify(key)}`);
      }
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
      this.skipSpace();
      out[key] = this.value(depth);
      this.skipSpace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === '}') return out;
      if (c !== ',') {
        this.pos--;
        this.fail("expected ',' or '}'");
      }
    }
  }
}
