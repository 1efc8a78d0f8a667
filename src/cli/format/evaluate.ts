/**
 * Executes a parsed template against data with Go's text/template semantics: field
 * chains on maps (missing key → `<no value>`), variables with block scoping, pipelines
 * feeding the previous result as the final argument, short-circuit `and`/`or`,
 * `if`/`with`/`range` (sorted map keys, `else`, `break`, `continue`). Failures throw
 * InvalidArgument worded like Go: `template: :1:2: executing "" at <.A.B>: ...`.
 */
import { InvalidArgument } from '../../core/errors.js';
import type {
  ActionNode,
  ArgNode,
  BranchNode,
  ChainNode,
  CommandNode,
  IdentifierNode,
  ListNode,
  Node,
  PipeNode,
  VariableNode,
} from './ast.js';
import { nodeString } from './ast.js';
import type { FunctionTable, TemplateFunction } from './functions.js';
import { ArgTypeError } from './functions.js';
import { HeaderValue, formatValue, goStructType, goTypeName, isMap, isNil, isTrue, mapGet, printAction, sortedKeys } from './values.js';

/** Marks "no value piped in" (distinct from `undefined`, a missing map key). */
const NO_FINAL: unique symbol = Symbol('no final argument');
type Final = unknown;

class LoopSignal {
  constructor(readonly kind: 'break' | 'continue') {}
}
const BREAK = new LoopSignal('break');
const CONTINUE = new LoopSignal('continue');

type Located = ArgNode | CommandNode | ActionNode | BranchNode;

interface Variable {
  readonly name: string;
  value: unknown;
}

/** Runs `root` (parsed from `source`) on `data`, returning the produced text. */
export function execute(source: string, root: ListNode, data: unknown, functions: FunctionTable): string {
  const state = new State(source, functions, data);
  state.walkList(data, root);
  return state.out;
}

class State {
  out = '';
  private node: Located | null = null;
  private readonly vars: Variable[];

  constructor(
    private readonly source: string,
    private readonly functions: FunctionTable,
    data: unknown,
  ) {
    this.vars = [{ name: '$', value: data }];
  }

  // --- errors and variables -----------------------------------------------------

  private at(node: Located): void {
    this.node = node;
  }

  private errorf(message: string): never {
    const node = this.node;
    if (node === null) throw new InvalidArgument(`template: : ${message}`);
    const before = this.source.slice(0, node.pos);
    const line = before.split('\n').length;
    const col = node.pos - (before.lastIndexOf('\n') + 1);
    let context = nodeString(node);
    if ([...context].length > 20) context = `${[...context].slice(0, 20).join('')}...`;
    throw new InvalidArgument(`template: :${line}:${col}: executing "" at <${context}>: ${message}`);
  }

  private push(name: string, value: unknown): void {
    this.vars.push({ name, value });
  }

  private findVar(name: string): Variable {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i];
      if (v !== undefined && v.name === name) return v;
    }
    this.errorf(`undefined variable: ${name}`);
  }

  // --- statements ----------------------------------------------------------------

  walkList(dot: unknown, list: ListNode): void {
    for (const node of list.nodes) this.walk(dot, node);
  }

  private walk(dot: unknown, node: Node): void {
    switch (node.type) {
      case 'text':
        this.out += node.text;
        return;
      case 'action': {
        const value = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.print(node, value);
        return;
      }
      case 'if':
      case 'with':
        this.walkIfOrWith(dot, node);
        return;
      case 'range':
        this.walkRange(dot, node);
        return;
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
    }
  }

  private print(node: ActionNode, value: unknown): void {
    if (typeof value === 'function' || typeof value === 'symbol') {
      this.at(node);
      this.errorf(`can't print ${nodeString(node.pipe)} of type ${goTypeName(value)}`);
    }
    this.out += printAction(value);
  }

  private walkIfOrWith(dot: unknown, node: BranchNode): void {
    const mark = this.vars.length;
    try {
      const value = this.evalPipeline(dot, node.pipe);
      if (isTrue(value)) this.walkList(node.type === 'with' ? value : dot, node.list);
      else if (node.elseList !== null) this.walkList(dot, node.elseList);
    } finally {
      this.vars.length = mark;
    }
  }

  private walkRange(dot: unknown, node: BranchNode): void {
    this.at(node);
    const mark = this.vars.length;
    const { decl, isAssign } = node.pipe;
    try {
      const value = this.evalPipeline(dot, node.pipe, false);
      const items = this.rangeItems(value, node);
      if (items.length === 0) {
        if (node.elseList !== null) this.walkList(dot, node.elseList);
        return;
      }
      for (const [key, elem] of items) {
        const iterationMark = this.vars.length;
        const bindings: Array<[string | undefined, unknown]> =
          decl.length > 1 ? [[decl[0], key], [decl[1], elem]] : [[decl[0], elem]];
        for (const [name, v] of bindings) {
          if (name === undefined) continue;
          if (isAssign) this.findVar(name).value = v;
          else this.push(name, v);
        }
        try {
          this.walkList(elem, node.list);
        } catch (e) {
          if (e === BREAK) return;
          if (e !== CONTINUE) throw e;
        } finally {
          this.vars.length = iterationMark;
        }
      }
    } finally {
      this.vars.length = mark;
    }
  }

  private rangeItems(value: unknown, node: BranchNode): Array<readonly [unknown, unknown]> {
    if (isNil(value)) return [];
    if (value instanceof HeaderValue) return [[0, value]];
    if (Array.isArray(value)) return value.map((e: unknown, i) => [i, e] as const);
    if (isMap(value)) return sortedKeys(value).map((k) => [k, value[k]] as const);
    if (typeof value === 'number' && Number.isInteger(value)) {
      this.at(node);
      if (node.pipe.decl.length > 1) this.errorf(`can't use ${value} to iterate over more than one variable`);
      return Array.from({ length: Math.max(value, 0) }, (_v, i) => [i, i] as const);
    }
    this.at(node);
    this.errorf(`range can't iterate over ${formatValue(value)}`);
  }

  // --- expressions ---------------------------------------------------------------

  private evalPipeline(dot: unknown, pipe: PipeNode, declare = true): unknown {
    this.at(pipe);
    let value: Final = NO_FINAL;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    if (declare) {
      for (const name of pipe.decl) {
        if (pipe.isAssign) this.findVar(name).value = value;
        else this.push(name, value);
      }
    }
    return value;
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0];
    if (first === undefined) {
      this.at(cmd);
      this.errorf('empty command');
    }
    switch (first.type) {
      case 'field':
        this.at(first);
        return this.evalFieldChain(dot, first.names, cmd.args, final, dot);
      case 'chain':
        return this.evalChain(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariable(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
      case 'number':
      case 'string':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
    }
  }

  private notAFunction(args: readonly ArgNode[], final: Final): void {
    const first = args[0];
    if (first !== undefined && (args.length > 1 || final !== NO_FINAL)) {
      this.errorf(`can't give argument to non-function ${nodeString(first)}`);
    }
  }

  private evalFieldChain(receiver: unknown, names: readonly string[], args: readonly ArgNode[], final: Final, dot: unknown): unknown {
    let value = receiver;
    names.forEach((name, i) => {
      const last = i === names.length - 1;
      value = this.evalField(name, last ? args : [], last ? final : NO_FINAL, value, dot);
    });
    return value;
  }

  private evalField(name: string, args: readonly ArgNode[], final: Final, receiver: unknown, dot: unknown): unknown {
    if (receiver === undefined) return undefined; // missing key further up: Go's invalid value
    if (receiver instanceof HeaderValue) {
      // The formatter contexts' `.Label "com.example.my-label"` titles its column with the
      // key's last dotted part, `-` and `_` as spaces, as written (`my label`).
      if (name === 'Label') {
        const key = args.length === 2 ? this.evalArg(dot, args[1] as ArgNode) : args.length === 1 && final !== NO_FINAL ? final : undefined;
        if (typeof key === 'string') return labelHeader(key);
      }
      return receiver.child(name);
    }
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${name}`);
    if (isMap(receiver)) {
      const value = mapGet(receiver, name);
      const struct = value === undefined && !Object.hasOwn(receiver, name) ? goStructType(receiver) : undefined;
      if (struct !== undefined) this.errorf(`can't evaluate field ${name} in type ${struct}`);
      // A method of a formatter context, such as ContainerContext's `.Label "key"`.
      if (typeof value === 'function') {
        const argv = args.slice(1).map((a) => this.evalArg(dot, a));
        if (final !== NO_FINAL) argv.push(final);
        if (argv.length !== value.length) this.errorf(`wrong number of args for ${name}: want ${value.length} got ${argv.length}`);
        return (value as (...a: unknown[]) => unknown)(...argv.map((v) => (v instanceof HeaderValue ? v.toString() : v)));
      }
      if (args.length > 1 || final !== NO_FINAL) this.errorf(`${name} is not a method but has arguments`);
      return value;
    }
    this.errorf(`can't evaluate field ${name} in type ${goTypeName(receiver)}`);
  }

  private evalChain(dot: unknown, chain: ChainNode, args: readonly ArgNode[], final: Final): unknown {
    this.at(chain);
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const receiver = this.evalArg(dot, chain.node);
    this.at(chain);
    return this.evalFieldChain(receiver, chain.names, args, final, dot);
  }

  private evalVariable(dot: unknown, node: VariableNode, args: readonly ArgNode[], final: Final): unknown {
    this.at(node);
    const value = this.findVar(node.name).value;
    if (node.names.length === 0) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(value, node.names, args, final, dot);
  }

  private evalFunction(
    dot: unknown,
    ident: IdentifierNode,
    cmd: CommandNode | IdentifierNode,
    args: readonly ArgNode[],
    final: Final,
  ): unknown {
    this.at(ident);
    const fn = this.functions.get(ident.name);
    if (fn === undefined) this.errorf(`${JSON.stringify(ident.name)} is not a defined function`);
    return this.evalCall(dot, fn, ident, cmd, args.slice(1), final);
  }

  private evalCall(
    dot: unknown,
    fn: TemplateFunction,
    ident: IdentifierNode,
    cmd: CommandNode | IdentifierNode,
    argNodes: readonly ArgNode[],
    final: Final,
  ): unknown {
    const name = ident.name;
    const numIn = argNodes.length + (final === NO_FINAL ? 0 : 1);
    if (numIn < fn.min || numIn > fn.max) {
      const want = fn.max === Infinity ? `at least ${fn.min}` : String(fn.min);
      this.errorf(`wrong number of args for ${name}: want ${want} got ${numIn}`);
    }
    if (name === 'and' || name === 'or') {
      // Short-circuit: stop at the first argument that decides the result.
      let value: unknown;
      for (const a of argNodes) {
        value = this.evalArg(dot, a);
        if (isTrue(value) === (name === 'or')) return value;
      }
      return final === NO_FINAL ? value : final;
    }
    const argv = argNodes.map((a) => this.evalArg(dot, a));
    if (final !== NO_FINAL) argv.push(final);
    const plain = argv.map((v) => (v instanceof HeaderValue ? v.toString() : v));
    try {
      return fn.call(plain);
    } catch (e) {
      this.at(cmd);
      if (e instanceof ArgTypeError) this.errorf(e.message);
      if (e instanceof InvalidArgument || !(e instanceof Error)) throw e;
      this.errorf(`error calling ${name}: ${e.message}`);
    }
  }

  private evalArg(dot: unknown, n: ArgNode): unknown {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'field':
        return this.evalFieldChain(dot, n.names, [n], NO_FINAL, dot);
      case 'variable':
        return this.evalVariable(dot, n, [n], NO_FINAL);
      case 'pipe':
        return this.evalPipeline(dot, n);
      case 'identifier':
        return this.evalFunction(dot, n, n, [n], NO_FINAL);
      case 'chain':
        return this.evalChain(dot, n, [n], NO_FINAL);
      case 'bool':
      case 'number':
      case 'string':
        return n.value;
    }
  }
}

/** docker's column title for `.Label "key"`: the key's last dotted part, `-` and `_` as spaces. */
export function labelHeader(key: string): string {
  return (key.split('.').pop() ?? '').replace(/[-_]/g, ' ');
}
