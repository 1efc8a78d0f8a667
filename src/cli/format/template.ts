/**
 * A compiled `--format` template: parsed once, executable against any data. Parsing
 * checks function names against the docker function set, so a misspelt function fails
 * up front (`template: :1: function "foo" not defined`) as in the docker CLI.
 */
import type { ListNode } from './ast.js';
import { execute } from './evaluate.js';
import type { FunctionTable } from './functions.js';
import { FUNCTIONS } from './functions.js';
import { parse } from './parser.js';

export class Template {
  readonly root: ListNode;

  constructor(readonly source: string) {
    this.root = parse(source, (name) => FUNCTIONS.has(name));
  }

  /** Renders the template for `data`; `functions` swaps in e.g. the table-header set. */
  execute(data: unknown, functions: FunctionTable = FUNCTIONS): string {
    return execute(this.source, this.root, data, functions);
  }
}
