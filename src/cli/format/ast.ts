/**
 * Syntax tree of a parsed template, mirroring Go's text/template/parse node kinds
 * (only those the `--format` subset needs). `nodeString` renders a node back to
 * template syntax for error messages (`executing "" at <.Foo>: ...`).
 */

export interface ListNode {
  readonly nodes: readonly Node[];
}

export type Node = TextNode | ActionNode | BranchNode | LoopControlNode;

export interface TextNode {
  readonly type: 'text';
  readonly text: string;
}

/** `{{pipeline}}`: prints the value unless the pipeline declares variables. */
export interface ActionNode {
  readonly type: 'action';
  readonly pos: number;
  readonly pipe: PipeNode;
}

/** `{{if}}`, `{{with}}` and `{{range}}` share a shape: pipeline, body, optional else. */
export interface BranchNode {
  readonly type: 'if' | 'with' | 'range';
  readonly pos: number;
  readonly pipe: PipeNode;
  readonly list: ListNode;
  readonly elseList: ListNode | null;
}

export interface LoopControlNode {
  readonly type: 'break' | 'continue';
  readonly pos: number;
}

export interface PipeNode {
  readonly type: 'pipe';
  readonly pos: number;
  /** True for `$x = ...`, false for `$x := ...` (and no declarations). */
  readonly isAssign: boolean;
  /** Declared or assigned variable names, e.g. `$i`, `$e`. */
  readonly decl: readonly string[];
  readonly cmds: readonly CommandNode[];
}

export interface CommandNode {
  readonly type: 'command';
  readonly pos: number;
  readonly args: readonly ArgNode[];
}

/** `.A.B`: field chain rooted at dot. */
export interface FieldNode {
  readonly type: 'field';
  readonly pos: number;
  readonly names: readonly string[];
}

/** `$x.A.B`: a variable with an optional field chain. */
export interface VariableNode {
  readonly type: 'variable';
  readonly pos: number;
  readonly name: string;
  readonly names: readonly string[];
}

/** `(pipeline).A.B`: a field chain on the result of a term. */
export interface ChainNode {
  readonly type: 'chain';
  readonly pos: number;
  readonly node: ArgNode;
  readonly names: readonly string[];
}

export interface IdentifierNode {
  readonly type: 'identifier';
  readonly pos: number;
  readonly name: string;
}

export interface DotNode {
  readonly type: 'dot';
  readonly pos: number;
}

export interface NilNode {
  readonly type: 'nil';
  readonly pos: number;
}

export interface BoolNode {
  readonly type: 'bool';
  readonly pos: number;
  readonly value: boolean;
}

export interface NumberNode {
  readonly type: 'number';
  readonly pos: number;
  readonly value: number;
  readonly text: string;
}

export interface StringNode {
  readonly type: 'string';
  readonly pos: number;
  readonly value: string;
  /** The literal as written, quotes included. */
  readonly quoted: string;
}

export type ArgNode =
  | FieldNode
  | VariableNode
  | ChainNode
  | IdentifierNode
  | DotNode
  | NilNode
  | BoolNode
  | NumberNode
  | StringNode
  | PipeNode;

export type AnyNode = ArgNode | CommandNode | Node;

/** Renders a node as template source, like Go's `Node.String()`. */
export function nodeString(node: AnyNode): string {
  switch (node.type) {
    case 'field':
      return node.names.map((n) => `.${n}`).join('');
    case 'variable':
      return node.name + node.names.map((n) => `.${n}`).join('');
    case 'chain': {
      const inner = node.node.type === 'pipe' ? `(${nodeString(node.node)})` : nodeString(node.node);
      return inner + node.names.map((n) => `.${n}`).join('');
    }
    case 'identifier':
      return node.name;
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(node.value);
    case 'number':
      return node.text;
    case 'string':
      return node.quoted;
    case 'pipe': {
      const decl = node.decl.length > 0 ? `${node.decl.join(', ')} ${node.isAssign ? '=' : ':='} ` : '';
      return decl + node.cmds.map(nodeString).join(' | ');
    }
    case 'command':
      return node.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
    case 'text':
      return node.text;
    case 'action':
      return `{{${nodeString(node.pipe)}}}`;
    case 'if':
    case 'with':
    case 'range': {
      const elsePart = node.elseList === null ? '' : `{{else}}${listString(node.elseList)}`;
      return `{{${node.type} ${nodeString(node.pipe)}}}${listString(node.list)}${elsePart}{{end}}`;
    }
    case 'break':
    case 'continue':
      return `{{${node.type}}}`;
  }
}

function listString(list: ListNode): string {
  return list.nodes.map(nodeString).join('');
}
