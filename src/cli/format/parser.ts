/**
 * Recursive-descent parser from tokens to the template syntax tree, following Go's
 * text/template/parse/parse.go: pipelines with declarations, commands, operands with
 * field chains, `if`/`with`/`range` with `else` (and `else if`/`else with`), `break`,
 * `continue`. Unknown functions and undeclared variables are rejected at parse time.
 */
import type { ArgNode, CommandNode, ListNode, Node, NumberNode, PipeNode, StringNode } from './ast.js';
import { nodeString } from './ast.js';
import type { Token, TokenKind } from './lexer.js';
import { lex, templateError } from './lexer.js';
import { quoteGo } from './values.js';

/** Parses `src`; `hasFunction` decides which identifiers are callable functions. */
export function parse(src: string, hasFunction: (name: string) => boolean): ListNode {
  return new Parser(lex(src), hasFunction).parseTemplate();
}

interface Marker {
  readonly type: 'end' | 'else';
}
const END: Marker = { type: 'end' };
const ELSE: Marker = { type: 'else' };

function isMarker(n: Node | Marker): n is Marker {
  return n === END || n === ELSE;
}

const OPERAND_START: ReadonlySet<TokenKind> = new Set<TokenKind>([
  'bool',
  'char',
  'dot',
  'field',
  'identifier',
  'number',
  'nil',
  'rawString',
  'string',
  'variable',
  'leftParen',
]);

class Parser {
  private i = 0;
  private line = 1;
  private readonly vars: string[] = ['$'];
  private rangeDepth = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly hasFunction: (name: string) => boolean,
  ) {}

  parseTemplate(): ListNode {
    const nodes: Node[] = [];
    while (this.peek().kind !== 'eof') {
      const n = this.textOrAction();
      if (isMarker(n)) this.error(`unexpected {{${n.type}}}`);
      nodes.push(n);
    }
    return { nodes };
  }

  // --- token access -------------------------------------------------------------

  private tok(i: number): Token {
    const t = this.tokens[Math.min(i, this.tokens.length - 1)];
    if (t === undefined) throw new Error('template lexer produced no tokens');
    return t;
  }

  private next(): Token {
    const t = this.tok(this.i++);
    this.line = t.line;
    return t;
  }

  private backup(): void {
    this.i--;
  }

  private peek(): Token {
    return this.tok(this.i);
  }

  private nextNonSpace(): Token {
    let t = this.next();
    while (t.kind === 'space') t = this.next();
    return t;
  }

  private peekNonSpace(): Token {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  private error(message: string): never {
    throw templateError(this.line, message);
  }

  private unexpected(t: Token, context: string): never {
    this.error(`unexpected ${describeToken(t)} in ${context}`);
  }

  private expect(kind: TokenKind, context: string): Token {
    const t = this.nextNonSpace();
    if (t.kind !== kind) this.unexpected(t, context);
    return t;
  }

  // --- structure ----------------------------------------------------------------

  private textOrAction(): Node | Marker {
    const t = this.nextNonSpace();
    if (t.kind === 'text') return { type: 'text', text: t.value };
    if (t.kind === 'leftDelim') return this.action();
    this.unexpected(t, 'input');
  }

  private itemList(): [ListNode, Marker] {
    const nodes: Node[] = [];
    while (this.peekNonSpace().kind !== 'eof') {
      const n = this.textOrAction();
      if (isMarker(n)) return [{ nodes }, n];
      nodes.push(n);
    }
    this.error('unexpected EOF');
  }

  private action(): Node | Marker {
    const t = this.nextNonSpace();
    if (t.kind === 'keyword') {
      switch (t.value) {
        case 'break':
        case 'continue': {
          const close = this.nextNonSpace();
          if (close.kind !== 'rightDelim') this.unexpected(close, `{{${t.value}}}`);
          if (this.rangeDepth === 0) this.error(`{{${t.value}}} outside {{range}}`);
          return { type: t.value, pos: t.pos };
        }
        case 'else': {
          const peek = this.peekNonSpace();
          if (peek.kind !== 'keyword' || (peek.value !== 'if' && peek.value !== 'with')) {
            this.expect('rightDelim', 'else');
          }
          return ELSE;
        }
        case 'end':
          this.expect('rightDelim', 'end');
          return END;
        case 'if':
        case 'range':
        case 'with':
          return this.control(t.value);
        default:
          this.error(`{{${t.value}}} is not supported`);
      }
    }
    this.backup();
    const pos = this.peekNonSpace().pos;
    return { type: 'action', pos, pipe: this.pipeline('command', 'rightDelim') };
  }

  private control(context: 'if' | 'range' | 'with'): Node {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(context, 'rightDelim');
      if (context === 'range') this.rangeDepth++;
      const [list, next] = this.itemList();
      if (context === 'range') this.rangeDepth--;
      let elseList: ListNode | null = null;
      if (next === ELSE) {
        const peek = this.peek();
        if (context !== 'range' && peek.kind === 'keyword' && peek.value === context) {
          // `{{else if x}}` is `{{else}}{{if x}}...{{end}}` with the inner end shared.
          this.next();
          elseList = { nodes: [this.control(context)] };
        } else {
          const [list2, end] = this.itemList();
          if (end !== END) this.error('expected end; found {{else}}');
          elseList = list2;
        }
      }
      return { type: context, pos: pipe.pos, pipe, list, elseList };
    } finally {
      this.vars.length = mark;
    }
  }

  // --- pipelines ----------------------------------------------------------------

  private pipeline(context: string, end: 'rightDelim' | 'rightParen'): PipeNode {
    const pos = this.peekNonSpace().pos;
    const decl: string[] = [];
    let isAssign = false;
    for (;;) {
      const v = this.peekNonSpace();
      if (v.kind !== 'variable') break;
      const save = this.i;
      this.next();
      const after = this.peekNonSpace();
      if (after.kind === 'assign' || after.kind === 'declare') {
        isAssign = after.kind === 'assign';
        this.nextNonSpace();
        if (isAssign && !this.vars.includes(v.value)) this.error(`undefined variable "${v.value}"`);
        decl.push(v.value);
        this.vars.push(v.value);
        break;
      }
      if (after.kind === 'punct' && after.value === ',') {
        this.nextNonSpace();
        decl.push(v.value);
        this.vars.push(v.value);
        if (context === 'range' && decl.length < 2) {
          const p = this.peekNonSpace();
          if (p.kind === 'variable' || p.kind === 'rightDelim' || p.kind === 'rightParen') continue;
          this.error('range can only initialize variables');
        }
        this.error(`too many declarations in ${context}`);
      }
      this.i = save; // a plain variable operand, not a declaration
      break;
    }
    const cmds: CommandNode[] = [];
    for (;;) {
      const t = this.nextNonSpace();
      if (t.kind === end) {
        if (cmds.length === 0) this.error(`missing value for ${context}`);
        cmds.slice(1).forEach((c, i) => {
          const first = c.args[0];
          if (first !== undefined && ['bool', 'dot', 'nil', 'number', 'string'].includes(first.type)) {
            this.error(`non executable command in pipeline stage ${i + 2}`);
          }
        });
        return { type: 'pipe', pos, isAssign, decl, cmds };
      }
      if (!OPERAND_START.has(t.kind)) this.unexpected(t, context);
      this.backup();
      cmds.push(this.command());
    }
  }

  private command(): CommandNode {
    const pos = this.peekNonSpace().pos;
    const args: ArgNode[] = [];
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand !== null) args.push(operand);
      const t = this.next();
      if (t.kind === 'space') continue;
      if (t.kind === 'rightDelim' || t.kind === 'rightParen') this.backup();
      else if (t.kind !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    if (args.length === 0) this.error('empty command');
    return { type: 'command', pos, args };
  }

  private operand(): ArgNode | null {
    const node = this.term();
    if (node === null || this.peek().kind !== 'field') return node;
    const names: string[] = [];
    while (this.peek().kind === 'field') names.push(this.next().value.slice(1));
    switch (node.type) {
      case 'field':
      case 'variable':
        return { ...node, names: [...node.names, ...names] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        this.error(`unexpected . after term ${quoteGo(nodeString(node))}`);
      default:
        return { type: 'chain', pos: node.pos, node, names };
    }
  }

  private term(): ArgNode | null {
    const t = this.nextNonSpace();
    switch (t.kind) {
      case 'identifier':
        if (!this.hasFunction(t.value)) this.error(`function ${quoteGo(t.value)} not defined`);
        return { type: 'identifier', pos: t.pos, name: t.value };
      case 'dot':
        return { type: 'dot', pos: t.pos };
      case 'nil':
        return { type: 'nil', pos: t.pos };
      case 'variable':
        if (!this.vars.includes(t.value)) this.error(`undefined variable ${quoteGo(t.value)}`);
        return { type: 'variable', pos: t.pos, name: t.value, names: [] };
      case 'field':
        return { type: 'field', pos: t.pos, names: [t.value.slice(1)] };
      case 'bool':
        return { type: 'bool', pos: t.pos, value: t.value === 'true' };
      case 'number':
      case 'char':
        return this.number(t);
      case 'leftParen':
        return this.pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
      case 'rawString':
        return this.string(t);
      default:
        this.backup();
        return null;
    }
  }

  private number(t: Token): NumberNode {
    if (t.kind === 'char') {
      const body = t.value.slice(1, -1);
      const cps = decodeQuoted(body, "'");
      if (cps === null || cps.length !== 1 || cps[0] === undefined) this.error(`malformed character constant: ${t.value}`);
      return { type: 'number', pos: t.pos, value: cps[0].value, text: t.value };
    }
    const value = parseGoNumber(t.value);
    if (value === null) this.error(`illegal number syntax: ${quoteGo(t.value)}`);
    return { type: 'number', pos: t.pos, value, text: t.value };
  }

  private string(t: Token): StringNode {
    const value = unquote(t.value);
    if (value === null) this.error('invalid syntax');
    return { type: 'string', pos: t.pos, value, quoted: t.value };
  }
}

/** Go's `item.String()` for parse errors: `"}"`, `<end>`, `EOF`. */
function describeToken(t: Token): string {
  if (t.kind === 'eof') return 'EOF';
  if (t.kind === 'keyword' || t.kind === 'dot' || t.kind === 'nil') return `<${t.value}>`;
  if ([...t.value].length > 10) return `${quoteGo([...t.value].slice(0, 10).join(''))}...`;
  return quoteGo(t.value);
}

/** Parses a Go integer or float literal (underscores, 0x/0o/0b and leading-0 octal). */
export function parseGoNumber(text: string): number | null {
  const clean = text.replace(/_/g, '');
  const sign = clean.startsWith('-') ? -1 : 1;
  const body = clean.replace(/^[+-]/, '');
  if (/^(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[1-9]\d*|0)$/.test(body)) return sign * Number(BigInt(body));
  if (/^0[0-7]+$/.test(body)) return sign * Number(BigInt(`0o${body.slice(1)}`));
  if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(body)) return sign * Number(body);
  return null;
}

/** Go's strconv.Unquote for `"..."` and `` `...` `` literals; null on invalid syntax. */
export function unquote(quoted: string): string | null {
  if (quoted.startsWith('`')) return quoted.slice(1, -1).replace(/\r/g, '');
  const parts = decodeQuoted(quoted.slice(1, -1), '"');
  if (parts === null) return null;
  const bytes: number[] = [];
  for (const p of parts) {
    if (p.isByte) bytes.push(p.value);
    else bytes.push(...Buffer.from(String.fromCodePoint(p.value), 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

interface Decoded {
  readonly value: number;
  /** True for `\xNN` and octal escapes, which denote raw bytes rather than runes. */
  readonly isByte: boolean;
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 92,
};

/** Decodes the body of a quoted literal into runes/bytes; null on a bad escape. */
function decodeQuoted(body: string, quote: '"' | "'"): Decoded[] | null {
  const out: Decoded[] = [];
  let i = 0;
  while (i < body.length) {
    const cp = body.codePointAt(i) ?? 0;
    if (cp !== 0x5c) {
      if (String.fromCodePoint(cp) === quote) return null;
      out.push({ value: cp, isByte: false });
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const e = body[i + 1] ?? '';
    i += 2;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out.push({ value: simple, isByte: false });
    } else if (e === quote) {
      out.push({ value: e.charCodeAt(0), isByte: false });
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i, i + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) return null;
      const value = parseInt(hex, 16);
      i += n;
      if (e !== 'x' && (value > 0x10ffff || (value >= 0xd800 && value < 0xe000))) return null;
      out.push({ value, isByte: e === 'x' && quote === '"' });
    } else if (e >= '0' && e <= '7') {
      const oct = body.slice(i - 1, i + 2);
      if (!/^[0-7]{3}$/.test(oct)) return null;
      const value = parseInt(oct, 8);
      if (value > 255) return null;
      i += 2;
      out.push({ value, isByte: quote === '"' });
    } else {
      return null;
    }
  }
  return out;
}
