import { Internal } from '../core/errors.js';
import { run as defaultRun, type Runner } from './exec.js';

/**
 * Copies the content of `src` into the existing directory `dst`, keeping owners, modes,
 * times, links and special files (`cp -a`): Node's fs.cp cannot keep owners. Used for a new
 * volume's copy-up from the image.
 */
export async function copyTreeInto(src: string, dst: string, run: Runner = defaultRun): Promise<void> {
  const r = await run('cp', ['-a', '--', `${src}/.`, `${dst}/`], { allowFailure: true });
  if (r.code !== 0) throw new Internal(`copying ${src} into ${dst}: ${r.stderr.trim()}`);
}
