import { describe, expect, it } from 'vitest';
import { MANAGEMENT } from './registry.js';

// `docker <group> --help` of the docker CLI 28, less what berth has no issue for yet (image build,
// volume update: cluster volumes).
const DOCKER_GROUPS: Record<string, string[]> = {
  container: ['attach', 'commit', 'cp', 'create', 'diff', 'exec', 'export', 'inspect', 'kill', 'logs', 'ls', 'pause', 'port', 'prune', 'rename', 'restart', 'rm', 'run', 'start', 'stats', 'stop', 'top', 'unpause', 'update', 'wait'],
  image: ['history', 'import', 'inspect', 'load', 'ls', 'prune', 'pull', 'push', 'rm', 'save', 'tag'],
  network: ['connect', 'create', 'disconnect', 'inspect', 'ls', 'prune', 'rm'],
  volume: ['create', 'inspect', 'ls', 'prune', 'rm'],
  system: ['df', 'events', 'info', 'prune'],
};

describe('management commands', () => {
  it("has each of the docker CLI's (berth container update was missing)", () => {
    for (const [group, subs] of Object.entries(DOCKER_GROUPS)) {
      const have = Object.keys(MANAGEMENT[group]?.commands ?? {});
      expect(subs.filter((s) => !have.includes(s)), group).toEqual([]);
    }
  });
});
