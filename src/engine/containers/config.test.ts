import { describe, expect, it } from 'vitest';
import type { ImageConfig } from '../../core/oci.js';
import { entrypointAndArgs, mergeImageConfig } from './service.js';

/** A container's command from the image's ENTRYPOINT/CMD and what the create request gives, as Docker merges them. */
describe('entrypoint and command', () => {
  const image = { architecture: 'amd64', os: 'linux', config: { Entrypoint: ['/entry.sh'], Cmd: ['serve', '--port', '80'] }, rootfs: { type: 'layers', diff_ids: [] } } as unknown as ImageConfig;
  const merged = (c: Record<string, unknown>) => {
    const m = mergeImageConfig({ Image: 'app', ...c }, image, 'a'.repeat(64));
    return { Entrypoint: m.Entrypoint, Cmd: m.Cmd, ...entrypointAndArgs(m) };
  };

  it("takes the image's when the request gives none", () => {
    expect(merged({})).toEqual({ Entrypoint: ['/entry.sh'], Cmd: ['serve', '--port', '80'], path: '/entry.sh', args: ['serve', '--port', '80'] });
  });

  it("keeps the image's entrypoint under a command given", () => {
    expect(merged({ Cmd: ['sh'] })).toMatchObject({ path: '/entry.sh', args: ['sh'] });
  });

  it("drops the image's command under an entrypoint given", () => {
    expect(merged({ Entrypoint: ['/bin/echo'] })).toEqual({ Entrypoint: ['/bin/echo'], Cmd: null, path: '/bin/echo', args: [] });
  });

  it('--entrypoint "" (sent as [""]) resets the entrypoint and runs the command given', () => {
    expect(merged({ Entrypoint: [''], Cmd: ['echo', 'hi'] })).toEqual({ Entrypoint: null, Cmd: ['echo', 'hi'], path: 'echo', args: ['hi'] });
    // with no command there is nothing to run: the create is refused ("no command specified")
    expect(merged({ Entrypoint: [''] })).toMatchObject({ Entrypoint: null, Cmd: null, path: '' });
  });

  it("an empty entrypoint list keeps the image's command but not its entrypoint", () => {
    expect(merged({ Entrypoint: [] })).toEqual({ Entrypoint: [], Cmd: ['serve', '--port', '80'], path: 'serve', args: ['--port', '80'] });
  });
});
