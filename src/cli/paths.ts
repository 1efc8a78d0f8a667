/**
 * Files of the berth installation that the CLI reaches by path: `bin/berth`, `package.json`
 * and the daemon's entry. They are computed here, from this module's own URL, because this
 * file sits where the CLI bundle sits (`src/cli/`, `dist/cli/`, `dist/cli/bundle.js`: one level
 * below the package's source or build root); a `new URL('../..', import.meta.url)` written in
 * a module deeper down would point elsewhere once bundled (see scripts/build-cli.mjs).
 */

/** `src/cli/` or `dist/cli/`. */
const CLI_DIR = new URL('./', import.meta.url);

/** A file relative to the CLI's directory, e.g. `../../bin/berth`. */
export function cliRelative(path: string): URL {
  return new URL(path, CLI_DIR);
}

/**
 * Set by bin/berth: its own `import()`. The bundle runs as a vm.Script, whose `import()` of
 * an ES module would need an experimental vm option (and prints a warning), so modules outside
 * the bundle (the daemon) are imported through the entry script instead.
 */
const ENTRY_IMPORT = Symbol.for('berth.import');

/** Imports an ES module of the installation that is not part of the CLI (the daemon). */
export function importCliRelative(path: string): Promise<unknown> {
  const href = cliRelative(path).href;
  const viaEntry = (globalThis as { [ENTRY_IMPORT]?: (specifier: string) => Promise<unknown> })[ENTRY_IMPORT];
  return viaEntry !== undefined ? viaEntry(href) : import(href);
}
