/**
 * Lexer for the Go text/template subset used by `--format`: splits a template into text
 * and action tokens, following Go's text/template/parse/lex.go (trim markers `{{- ` and
 * ` -}}`, comments `{{/* *\/}}`, quoted/raw strings, character constants, numbers).
 * Errors throw InvalidArgument with Go's wording, e.g. `template: :1: unclosed action`.
 */
import { InvalidArgument } from '../../core/errors.js';

export type TokenKind =
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'field'
  | 'variable'
  | 'identifier'
  | 'dot'
  | 'nil'
  | 'bool'
  | 'string'
  | 'rawString'
  | 'char'
  | 'number'
  | 'pipe'
  | 'leftParen'
  | 'rightParen'
  | 'declare'
  | 'assign'
  | 'punct'
  | 'keyword'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Source text of the token (for `text`, the text after trimming). */
  readonly value: string;
  /** Offset of the token in the template source. */
  readonly pos: number;
  /** 1-based line of the token's start. */
  readonly line: number;
}

/** Words that start control structures; `true`/`false`/`nil` get their own kinds. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'block',
  'break',
  'continue',
  'define',
  'else',
  'end',
  'if',
  'range',
  'template',
  'with',
]);

const LEFT = '{{';
const RIGHT = '}}';

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function isAlphaNumeric(ch: string | undefined): boolean {
  return ch !== undefined && /^[\p{L}\p{Nd}_]$/u.test(ch);
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

export function templateError(line: number, message: string): InvalidArgument {
  return new InvalidArgument(`template: :${line}: ${message}`);
}

/** Tokenizes `src`; the result always ends with an `eof` token. */
export function lex(src: string): Token[] {
  return new Lexer(src).run();
}

class Lexer {
  private pos = 0;
  private line = 1;
  private parenDepth = 0;
  private readonly tokens: Token[] = [];

  constructor(private readonly src: string) {}

  run(): Token[] {
    while (this.pos < this.src.length) this.lexText();
    this.tokens.push({ kind: 'eof', value: '', pos: this.src.length, line: this.line });
    return this.tokens;
  }

  private emit(kind: TokenKind, start: number, value = this.src.slice(start, this.pos)): void {
    this.tokens.push({ kind, value, pos: start, line: this.line });
    this.line += countNewlines(this.src.slice(start, this.pos));
  }

  /** Advances over `src[pos, to)` without emitting, keeping the line count. */
  private skipTo(to: number): void {
    this.line += countNewlines(this.src.slice(this.pos, to));
    this.pos = to;
  }

  private fail(message: string): never {
    throw templateError(this.line, message);
  }

  private lexText(): void {
    const start = this.pos;
    const delim = this.src.indexOf(LEFT, start);
    if (delim < 0) {
      this.pos = this.src.length;
      this.emit('text', start);
      return;
    }
    const trimLeft = this.src[delim + 2] === '-' && isSpace(this.src[delim + 3]);
    let textEnd = delim;
    if (trimLeft) while (textEnd > start && isSpace(this.src[textEnd - 1])) textEnd--;
    if (textEnd > start) {
      this.pos = textEnd;
      this.emit('text', start);
    }
    this.skipTo(delim);
    this.lexAction(trimLeft);
  }

  /** Positioned at `{{`; lexes through the matching `}}` (or a whole comment). */
  private lexAction(trimLeft: boolean): void {
    const afterMarker = this.pos + LEFT.length + (trimLeft ? 2 : 0);
    if (this.src.startsWith('/*', afterMarker)) {
      this.lexComment(afterMarker);
      return;
    }
    this.tokens.push({ kind: 'leftDelim', value: LEFT, pos: this.pos, line: this.line });
    this.skipTo(afterMarker);
    this.parenDepth = 0;
    for (;;) {
      const right = this.atRightDelim();
      if (right !== null) {
        if (this.parenDepth > 0) this.fail('unclosed left paren');
        const start = this.pos + (right ? 2 : 0);
        this.tokens.push({ kind: 'rightDelim', value: RIGHT, pos: start, line: this.line });
        this.skipTo(start + RIGHT.length);
        if (right) this.skipSpaces();
        return;
      }
      this.lexInsideAction();
    }
  }

  /** Returns null when not at `}}`; otherwise whether the delimiter carries a trim marker. */
  private atRightDelim(): boolean | null {
    const s = this.src;
    if (isSpace(s[this.pos]) && s[this.pos + 1] === '-' && s.startsWith(RIGHT, this.pos + 2)) return true;
    if (s.startsWith(RIGHT, this.pos)) return false;
    return null;
  }

  private skipSpaces(): void {
    let end = this.pos;
    while (end < this.src.length && isSpace(this.src[end])) end++;
    this.skipTo(end);
  }

  private lexComment(afterMarker: number): void {
    const close = this.src.indexOf('*/', afterMarker + 2);
    if (close < 0) this.fail('unclosed comment');
    this.skipTo(close + 2);
    const right = this.atRightDelim();
    if (right === null) this.fail('comment ends before closing delimiter');
    this.skipTo(this.pos + (right ? 2 : 0) + RIGHT.length);
    if (right) this.skipSpaces();
  }

  private lexInsideAction(): void {
    const s = this.src;
    const start = this.pos;
    const ch = s[start];
    if (ch === undefined) this.fail('unclosed action');
    if (isSpace(ch)) {
      let end = start;
      while (isSpace(s[end])) end++;
      // A space directly before a trim-marked `-}}` belongs to the delimiter.
      if (s[end] === '-' && s.startsWith(RIGHT, end + 1) && end - 1 >= start) end--;
      if (end === start) return; // only the trim marker's space: let the caller see `-}}`
      this.pos = end;
      this.emit('space', start);
      return;
    }
    switch (ch) {
      case '=':
        this.pos++;
        this.emit('assign', start);
        return;
      case ':':
        if (s[start + 1] !== '=') this.fail('expected :=');
        this.pos += 2;
        this.emit('declare', start);
        return;
      case '|':
        this.pos++;
        this.emit('pipe', start);
        return;
      case '"':
        this.lexQuote('"', 'string', 'unterminated quoted string');
        return;
      case "'":
        this.lexQuote("'", 'char', 'unterminated character constant');
        return;
      case '`': {
        const close = s.indexOf('`', start + 1);
        if (close < 0) this.fail('unterminated raw quoted string');
        this.pos = close + 1;
        this.emit('rawString', start);
        return;
      }
      case '$':
        this.lexFieldOrVariable('variable');
        return;
      case '(':
        this.pos++;
        this.parenDepth++;
        this.emit('leftParen', start);
        return;
      case ')':
        this.pos++;
        this.parenDepth--;
        if (this.parenDepth < 0) this.fail('unexpected right paren');
        this.emit('rightParen', start);
        return;
      case '.':
        if (!isDigit(s[start + 1])) {
          this.lexFieldOrVariable('field');
          return;
        }
        this.lexNumber();
        return;
    }
    if (ch === '+' || ch === '-' || isDigit(ch)) {
      this.lexNumber();
      return;
    }
    if (isAlphaNumeric(ch)) {
      this.lexIdentifier();
      return;
    }
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x21 && code < 0x7f) {
      this.pos++;
      this.emit('punct', start);
      return;
    }
    this.fail(`unrecognized character in action: ${describeRune(code)}`);
  }

  private lexQuote(quote: string, kind: TokenKind, unterminated: string): void {
    const s = this.src;
    let i = this.pos + 1;
    for (;;) {
      const c = s[i];
      if (c === undefined || c === '\n') this.fail(unterminated);
      if (c === '\\') {
        if (s[i + 1] === undefined || s[i + 1] === '\n') this.fail(unterminated);
        i += 2;
        continue;
      }
      i++;
      if (c === quote) break;
    }
    const start = this.pos;
    this.pos = i;
    this.emit(kind, start);
  }

  private atTerminator(): boolean {
    const c = this.src[this.pos];
    if (c === undefined || isSpace(c)) return true;
    if ('.,|:)('.includes(c)) return true;
    return this.src.startsWith(RIGHT, this.pos);
  }

  private lexFieldOrVariable(kind: 'field' | 'variable'): void {
    const start = this.pos;
    this.pos++; // '.' or '$'
    if (this.atTerminator()) {
      this.emit(kind === 'field' ? 'dot' : 'variable', start);
      return;
    }
    while (isAlphaNumeric(this.src[this.pos])) this.pos++;
    if (!this.atTerminator()) this.fail(`bad character ${describeRune(this.src.codePointAt(this.pos) ?? 0)}`);
    this.emit(kind, start);
  }

  private lexIdentifier(): void {
    const start = this.pos;
    while (isAlphaNumeric(this.src[this.pos])) this.pos++;
    if (!this.atTerminator()) this.fail(`bad character ${describeRune(this.src.codePointAt(this.pos) ?? 0)}`);
    const word = this.src.slice(start, this.pos);
    if (KEYWORDS.has(word)) this.emit('keyword', start);
    else if (word === 'true' || word === 'false') this.emit('bool', start);
    else if (word === 'nil') this.emit('nil', start);
    else this.emit('identifier', start);
  }

  private lexNumber(): void {
    const s = this.src;
    const start = this.pos;
    let i = start;
    const accept = (chars: string): boolean => {
      const c = s[i];
      if (c !== undefined && chars.includes(c)) {
        i++;
        return true;
      }
      return false;
    };
    const acceptRun = (chars: string): void => {
      while (accept(chars));
    };
    accept('+-');
    let digits = '0123456789_';
    if (accept('0')) {
      if (accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (accept('oO')) digits = '01234567_';
      else if (accept('bB')) digits = '01_';
    }
    acceptRun(digits);
    if (accept('.')) acceptRun(digits);
    if (digits.length === 11 && accept('eE')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    if (digits.length === 23 && accept('pP')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    accept('i');
    if (isAlphaNumeric(s[i])) this.fail(`bad number syntax: ${JSON.stringify(s.slice(start, i + 1))}`);
    this.pos = i;
    this.emit('number', start);
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** Go's `%#U` rendering of a rune: `U+0023 '#'`. */
export function describeRune(code: number): string {
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  return `U+${hex} '${String.fromCodePoint(code)}'`;
}
