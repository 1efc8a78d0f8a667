/**
 * @module cli/format
 *
 * Docker-compatible `--format`/`-f` rendering for the CLI: the subset of Go's
 * text/template that docker templates use (actions, trim markers, comments, field
 * chains, variables, pipelines, `if`/`with`/`range`, Go's builtins) plus docker's
 * functions (`json`, `join`, `split`, `lower`, `upper`, `title`, `truncate`, `pad`)
 * and its `table` directive with tabwriter-aligned columns. Values print as Go would
 * print JSON-decoded data (`<no value>`, `[a b]`, `map[k:v]`). Template mistakes throw
 * InvalidArgument with Go's wording, e.g. `template: :1: function "foo" not defined`.
 */
import { Template } from './template.js';

export type { FormatDefaults } from './rows.js';
export { formatOne, formatRows } from './rows.js';

/** Parses `source` once; the returned function renders it for a data value. */
export function compileTemplate(source: string): (data: unknown) => string {
  const template = new Template(source);
  return (data) => template.execute(data);
}
