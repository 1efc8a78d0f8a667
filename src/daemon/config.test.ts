import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_SECCOMP_PROFILE } from '../engine/containers/seccomp.js';
import { loadDaemonConfig, loadSeccompDefault, parseDaemonJson } from './config.js';

describe('daemon.json', () => {
  it("reads Docker's registry keys and berth's registry-mirrors-for; lists keys it ignores", () => {
    const c = parseDaemonJson(
      JSON.stringify({ 'registry-mirrors': ['https://mirror.example.com'], 'registry-mirrors-for': { 'ghcr.io': ['http://127.0.0.1:5002'] }, 'insecure-registries': ['reg.lan:5000'], 'max-concurrent-downloads': 8, debug: true, 'log-driver': 'json-file' }),
      '/etc/berth/daemon.json',
    );
    expect(c.registry.mirrors).toEqual({ 'docker.io': ['https://mirror.example.com'], 'ghcr.io': ['http://127.0.0.1:5002'] });
    expect(c.registry.insecure).toEqual(['127.0.0.0/8', 'reg.lan:5000']);
    expect(c.registry.maxConcurrentDownloads).toBe(8);
    expect(c.registry.maxConcurrentUploads).toBe(5);
    expect(c.ignored).toEqual(['debug', 'log-driver']);
  });

  it('says what is wrong, with the file name', () => {
    expect(() => parseDaemonJson('{', '/x.json')).toThrow(/^unable to configure the berth daemon with file \/x\.json: /);
    expect(() => parseDaemonJson('{\n  "max-concurrent-downloads": 3,\n}\n', '/x.json')).toThrow(
      'unable to configure the berth daemon with file /x.json: line 3, column 1: Expected double-quoted property name',
    );
    expect(() => parseDaemonJson('[]', '/x.json')).toThrow('not a JSON object');
    expect(() => parseDaemonJson('{"max-concurrent-uploads": "5"}', '/x.json')).toThrow('unable to configure the berth daemon with file /x.json: "max-concurrent-uploads" must be a whole number of at least 1, not "5"');
  });

  it('is optional at the default path, required when named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-daemonjson-'));
    try {
      await expect(loadDaemonConfig(join(dir, 'missing.json'))).rejects.toThrow('no such file or directory');
      await writeFile(join(dir, 'd.json'), '{"max-concurrent-uploads": 2}');
      expect((await loadDaemonConfig(join(dir, 'd.json')))?.registry.maxConcurrentUploads).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the default seccomp profile (--seccomp-profile, daemon.json seccomp-profile)', () => {
  it('is the built-in one unless a file or unconfined is named', async () => {
    expect(await loadSeccompDefault(undefined)).toEqual({ name: 'builtin', profile: BUILTIN_SECCOMP_PROFILE });
    expect(await loadSeccompDefault('builtin')).toEqual({ name: 'builtin', profile: BUILTIN_SECCOMP_PROFILE });
    expect(await loadSeccompDefault('unconfined')).toEqual({ name: 'unconfined', profile: 'unconfined' });
    expect(parseDaemonJson('{"seccomp-profile": "unconfined"}', '/x.json')).toMatchObject({ seccompProfile: 'unconfined', ignored: [] });
    expect(() => parseDaemonJson('{"seccomp-profile": true}', '/x.json')).toThrow('with file /x.json: seccomp-profile must be a string');
  });

  it('reads a file at start and names it in what is wrong', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-seccomp-'));
    try {
      const good = join(dir, 'good.json');
      await writeFile(good, '{"defaultAction": "SCMP_ACT_ALLOW"}');
      expect(await loadSeccompDefault(good)).toEqual({ name: good, profile: { defaultAction: 'SCMP_ACT_ALLOW' } });
      await expect(loadSeccompDefault(join(dir, 'missing.json'))).rejects.toThrow(`seccomp profile ${join(dir, 'missing.json')}: no such file or directory`);
      const bad = join(dir, 'bad.json');
      await writeFile(bad, '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"]}]}');
      await expect(loadSeccompDefault(bad)).rejects.toThrow(`seccomp profile ${bad}: decoding seccomp profile failed: syscalls[0].action: unknown action undefined`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
