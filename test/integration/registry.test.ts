import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_TYPES, type Descriptor, type ImageConfig, type Manifest } from '../../src/core/oci.js';
import { makeTar } from '../../src/engine/layers/test-helpers.js';
import { FakeRegistry } from '../fake-registry.js';
import { background, CACHE, inspectField, loadBusybox, REPO, rootSkipReason, rootTestsEnabled, sleep, startDaemon, type CmdResult, type TestDaemon } from '../harness.js';
import { haveRegistry, RegistryApi, sha256, startRegistry, startTokenIssuer, writeHtpasswd, type Registry, type TokenIssuer } from '../registry-helpers.js';

/**
 * Registries end to end: berth's daemon and both CLIs against the real CNCF distribution
 * registry (Debian's docker-registry) on 127.0.0.1 — push, pull back, the docker CLI's pull
 * and push and its pull-on-run, a multi-platform OCI index, every tag, basic auth with
 * login/logout, token auth with a token issuer of our own and token refresh, daemon.json
 * mirrors — and against an in-process fake registry for what a real one will not do on
 * purpose: a tampered blob, a pull killed half-way and resumed, zstd layers, rate limits.
 *
 * Commands that talk to an in-process server (fake registry, token issuer) run in the
 * background (`run`), so this process keeps serving while they wait.
 */

const enabled = rootTestsEnabled() && haveRegistry();
const reason = haveRegistry() ? rootSkipReason : 'needs the docker-registry program (apt-get install docker-registry)';

describe.skipIf(!enabled)(`registries (${reason})`, () => {
  const UNPACK_EVERY_LAYER_APART = { BERTH_UNPACK_PROCESS: 'always' };
  let d: TestDaemon;
  let tmp: string;
  let reg: Registry;
  let api: RegistryApi;
  let busyboxId: string;

  const run = (client: 'docker' | 'berth', args: string[], input?: string, dmn: TestDaemon = d): Promise<CmdResult> =>
    background(dmn, client, args, input !== undefined ? { input } : {}).done;

  beforeAll(async () => {
    // Pulls here unpack every layer, small ones too, in unpack processes
    // (src/engine/layers/unpack-process.ts); src/engine/registry/registry.test.ts pulls in-process.
    d = await startDaemon({ env: UNPACK_EVERY_LAYER_APART });
    loadBusybox(d);
    busyboxId = inspectField(d, 'busybox', '{{.Id}}');
    tmp = await mkdtemp(join(tmpdir(), 'berth-registry-it-'));
    reg = await startRegistry(join(tmp, 'plain'));
    api = new RegistryApi(reg.host);
  });
  afterAll(async () => {
    await d2?.stop();
    await d?.stop();
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const layerId = () => inspectField(d, 'busybox', '{{index .RootFS.Layers 0}}').slice(7, 19);

  it('push by berth, rmi, pull it back: same digest, RepoDigests recorded, it runs', async () => {
    const name = `${reg.host}/lib/busybox:1`;
    expect(d.berth(['tag', 'busybox', name]).code).toBe(0);
    const push = d.berth(['push', name]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    const m = /^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/m.exec(push.stdout);
    expect(m).not.toBeNull();
    const digest = (m as RegExpExecArray)[1] as string;
    expect(push.stdout).toBe(`The push refers to repository [${reg.host}/lib/busybox]\n${layerId()}: Preparing\n${layerId()}: Pushed\n1: digest: ${digest} size: ${(m as RegExpExecArray)[2]}\n`);
    expect((await api.getManifest('lib/busybox', '1')).digest).toBe(digest);
    // busybox was imported: its layer is stored as a plain tar. It went out gzip-compressed,
    // named in a Docker schema 2 manifest, while the config's diff_ids stay the tar's digest.
    const diffId = inspectField(d, 'busybox', '{{index .RootFS.Layers 0}}');
    const pushed = await api.getManifest('lib/busybox', '1');
    expect(pushed.mediaType).toBe(MEDIA_TYPES.dockerManifest);
    const manifest = JSON.parse(pushed.body.toString()) as Manifest;
    expect(manifest.config.mediaType).toBe(MEDIA_TYPES.dockerConfig);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([MEDIA_TYPES.dockerLayerGzip]);
    const layer = manifest.layers[0] as Descriptor;
    expect(layer.digest).not.toBe(diffId);
    const blob = await api.getBlob('lib/busybox', layer.digest);
    expect(sha256(blob)).toBe(layer.digest);
    expect(blob.length).toBe(layer.size);
    expect([...blob.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(sha256(gunzipSync(blob))).toBe(diffId);
    expect(blob.length).toBeLessThan((await stat(join(d.root, 'content', 'blobs', 'sha256', diffId.slice(7)))).size);
    expect((JSON.parse((await api.getBlob('lib/busybox', manifest.config.digest)).toString()) as ImageConfig).rootfs.diff_ids).toEqual([diffId]);
    // The store remembers diffID → gzip blob, and keeps the blob.
    const variantFile = join(d.root, 'image', 'compressed', `${diffId.slice(7)}.json`);
    const gzFile = join(d.root, 'content', 'blobs', 'sha256', layer.digest.slice(7));
    expect(JSON.parse(await readFile(variantFile, 'utf8'))).toEqual({ diffId, digest: layer.digest, size: layer.size, mediaType: MEDIA_TYPES.ociLayerGzip });
    const stamp = async () => (await Promise.all([stat(variantFile), stat(gzFile)])).map((s) => `${s.ino}:${s.mtimeMs}`);
    const written = await stamp();
    // Again: the registry has the layer, and nothing is compressed again.
    expect(d.berth(['push', name]).stdout).toContain(`${layerId()}: Layer already exists\n`);
    // Into another repository of the registry: the gzip blob is mounted, the manifest is the same.
    expect(d.berth(['tag', 'busybox', `${reg.host}/team/local:1`]).code).toBe(0);
    const copy = d.berth(['push', `${reg.host}/team/local:1`]);
    expect(copy.stdout).toContain(`${layerId()}: Mounted from lib/busybox\n`);
    expect(copy.stdout).toContain(`1: digest: ${digest} `);
    expect(await stamp()).toEqual(written);

    expect(d.berth(['rmi', name]).code).toBe(0);
    const pull = d.berth(['pull', name]);
    expect(pull.code).toBe(0);
    // The image is here (busybox:latest): like Docker, nothing to download, only the tag is new.
    expect(pull.stdout).toBe(
      [
        '1: Pulling from lib/busybox',
        `Digest: ${digest}`,
        `Status: Downloaded newer image for ${name}`,
        name,
        '',
      ].join('\n'),
    );
    expect(inspectField(d, name, '{{.Id}}')).toBe(busyboxId);
    expect(inspectField(d, name, '{{json .RepoDigests}}')).toBe(JSON.stringify([`${reg.host}/lib/busybox@${digest}`, `${reg.host}/team/local@${digest}`]));
    expect(d.berth(['run', '--rm', name, 'echo', 'pulled'])).toMatchObject({ code: 0, stdout: 'pulled\n' });
  });

  // A second daemon with an empty store (this and the next test; at most two daemons at a time).
  let d2: TestDaemon | undefined;

  it('a pull into an empty store downloads, verifies and unpacks every layer (in an unpack process)', async () => {
    d2 = await startDaemon({ env: UNPACK_EVERY_LAYER_APART });
    expect(d2.log()).toContain(`unpack processes (always): ${join(REPO, 'dist', 'daemon', 'unpack-main.js')}\n`);
    {
      const name = `${reg.host}/lib/busybox:1`;
      const r = d2.berth(['pull', name]);
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toBe('1: Pulling from lib/busybox');
      const id = /^([0-9a-f]{12}): Pulling fs layer$/.exec(lines[1] ?? '')?.[1];
      expect(id).toBeDefined();
      expect(lines.slice(2, 6)).toEqual([`${id}: Verifying Checksum`, `${id}: Download complete`, `${id}: Pull complete`, `Digest: ${(await api.getManifest('lib/busybox', '1')).digest}`]);
      expect(inspectField(d2, name, '{{.Id}}')).toBe(busyboxId);
      expect(d2.docker(['run', '--rm', name, 'cat', '/etc/hostname']).code).toBe(0);
    }
  });

  it('the docker CLI pulls, pushes and pulls on run through berth, with Docker\'s output', async () => {
    const name = `${reg.host}/lib/busybox:1`;
    const fresh = d2 ?? (await startDaemon({ env: UNPACK_EVERY_LAYER_APART }));
    d2 = undefined;
    try {
      expect(fresh.docker(['rmi', name]).code).toBe(0);
      const d2 = fresh;
      const pull = d2.docker(['pull', name]);
      expect(pull.stderr).toBe('');
      expect(pull.code).toBe(0);
      const digest = (await api.getManifest('lib/busybox', '1')).digest;
      expect(pull.stdout).toMatch(
        new RegExp(
          `^1: Pulling from lib/busybox\\n([0-9a-f]{12}): Pulling fs layer\\n\\1: Verifying Checksum\\n\\1: Download complete\\n\\1: Pull complete\\nDigest: ${digest}\\nStatus: Downloaded newer image for ${name.replace(/\./g, '\\.')}\\n${name.replace(/\./g, '\\.')}\\n$`,
        ),
      );
      expect(d2.docker(['pull', name]).stdout).toContain(`Status: Image is up to date for ${name}\n`);
      // The layer came gzip-compressed and unpacked to the tar berth pushed.
      expect(inspectField(d2, name, '{{json .RootFS.Layers}}')).toBe(inspectField(d, 'busybox', '{{json .RootFS.Layers}}'));
      expect(inspectField(d2, name, '{{.Id}}')).toBe(busyboxId);
      // push under a new name of the same registry: the layer is mounted, not uploaded.
      expect(d2.docker(['tag', name, `${reg.host}/team/box:7`]).code).toBe(0);
      const push = d2.docker(['push', `${reg.host}/team/box:7`]);
      expect(push.code).toBe(0);
      expect(push.stdout).toMatch(new RegExp(`^The push refers to repository \\[${reg.host}/team/box\\]\\n[0-9a-f]{12}: Preparing\\n[0-9a-f]{12}: Mounted from lib/busybox\\n7: digest: ${digest} size: \\d+\\n$`));
      // docker run of an image that is not here: create → 404 → POST /images/create → create.
      expect(d2.docker(['rmi', name, `${reg.host}/team/box:7`]).code).toBe(0);
      const runIt = d2.docker(['run', '--rm', name, 'echo', 'from docker run']);
      expect(runIt.code).toBe(0);
      expect(runIt.stdout).toBe('from docker run\n');
      expect(runIt.stderr).toContain(`Unable to find image '${name}' locally`);
      expect(runIt.stderr).toContain('Pull complete');
      expect(runIt.stderr).toContain(`Status: Downloaded newer image for ${name}`);
    } finally {
      await fresh.stop();
    }
  });

  it('pulls the right platform from an OCI index (--platform, or the host\'s by default), and by digest', async () => {
    const src = await api.getManifest('lib/busybox', '1');
    const manifest = JSON.parse(src.body.toString()) as { config: { digest: string }; layers: { digest: string; size: number; mediaType: string }[] };
    const config = JSON.parse((await api.getBlob('lib/busybox', manifest.config.digest)).toString()) as Record<string, unknown>;
    const layer = await api.getBlob('lib/busybox', manifest.layers[0]?.digest as string);
    await api.putBlob('lib/multi', layer);
    const entries = [];
    const ids: Record<string, string> = {};
    for (const [arch, variant] of [['amd64', undefined], ['arm64', 'v8']] as const) {
      const cfg = Buffer.from(JSON.stringify({ ...config, architecture: arch, ...(variant ? { variant } : {}) }));
      const cfgDigest = await api.putBlob('lib/multi', cfg);
      ids[arch] = cfgDigest;
      const m = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: MEDIA_TYPES.ociConfig, digest: cfgDigest, size: cfg.length }, layers: manifest.layers }));
      const md = await api.putManifest('lib/multi', sha256(m), m, MEDIA_TYPES.ociManifest);
      entries.push({ mediaType: MEDIA_TYPES.ociManifest, digest: md, size: m.length, platform: { architecture: arch, os: 'linux', ...(variant ? { variant } : {}) } });
    }
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: entries }));
    const indexDigest = await api.putManifest('lib/multi', 'multi', index, MEDIA_TYPES.ociIndex);
    const name = `${reg.host}/lib/multi:multi`;

    const arm = d.berth(['pull', '--platform', 'linux/arm64', name]);
    expect(arm.code).toBe(0);
    expect(arm.stdout).toContain(`Digest: ${indexDigest}\n`);
    expect(inspectField(d, name, '{{.Id}} {{.Architecture}} {{.Variant}}')).toBe(`${ids.arm64} arm64 v8`);
    expect(inspectField(d, name, '{{json .RepoDigests}}')).toBe(JSON.stringify([`${reg.host}/lib/multi@${indexDigest}`]));

    const host = d.docker(['pull', name]);
    expect(host.code).toBe(0);
    expect(inspectField(d, name, '{{.Id}} {{.Architecture}}')).toBe(`${ids.amd64} amd64`);

    const none = d.docker(['pull', '--platform', 'linux/s390x', name]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no matching manifest for linux/s390x in the manifest list entries');

    const byDigest = d.berth(['pull', `${reg.host}/lib/multi@${entries[1]?.digest}`]);
    expect(byDigest.code).toBe(0);
    expect(byDigest.stdout).toContain(`Status: Image is up to date for ${reg.host}/lib/multi@${entries[1]?.digest}`);
    expect(inspectField(d, `${reg.host}/lib/multi@${entries[1]?.digest}`, '{{.Architecture}}')).toBe('arm64');

    // The same two OCI manifests made into a list by berth manifest: an OCI index, platforms from the configs.
    const made = `${reg.host}/lib/multi:made`;
    expect(d.berth(['manifest', 'create', made, ...entries.map((e) => `${reg.host}/lib/multi@${e.digest}`)]).code).toBe(0);
    const pushedIndex = d.berth(['manifest', 'push', '--purge', made]);
    expect(pushedIndex.stderr).toBe('');
    const madeIndex = await api.getManifest('lib/multi', 'made');
    expect(pushedIndex.stdout).toBe(`${madeIndex.digest}\n`);
    expect(madeIndex.mediaType).toBe(MEDIA_TYPES.ociIndex);
    // In the local list's order: by file name, here the digests'.
    expect((JSON.parse(madeIndex.body.toString()) as { manifests: Descriptor[] }).manifests).toEqual(
      [...entries].sort((a, b) => a.digest.localeCompare(b.digest)).map((e) => ({ mediaType: MEDIA_TYPES.ociManifest, size: e.size, digest: e.digest, platform: e.platform })),
    );
  });

  it('berth manifest: a two-platform list from images in the registry, pushed as a Docker manifest list, pulled back by platform', async () => {
    const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
    const otherArch = hostArch === 'amd64' ? 'arm64' : 'amd64';
    const repo = `${reg.host}/multi/app`;
    const list = `${reg.host}/multi/app:1`;
    const rootfs = join(CACHE, 'images', 'busybox.tar');
    const ids: Record<string, string> = {};
    const digests: Record<string, string> = {};
    // Images of two platforms without a builder: one root file system imported twice.
    for (const arch of [hostArch, otherArch]) {
      const name = `${repo}:${arch}`;
      expect(d.berth(['import', '--platform', `linux/${arch}`, '--change', 'CMD ["sh"]', rootfs, name]).code).toBe(0);
      expect(inspectField(d, name, '{{.Os}}/{{.Architecture}}')).toBe(`linux/${arch}`);
      ids[arch] = inspectField(d, name, '{{.Id}}');
      const push = d.berth(['push', name]);
      expect(push.code).toBe(0);
      digests[arch] = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1] as string;
    }
    expect(d.berth(['import', '--platform', 'linux/nosuch/x/y', rootfs])).toMatchObject({ code: 1 });

    const create = d.berth(['manifest', 'create', list, `${repo}:${otherArch}`, `${repo}:${hostArch}`]);
    expect(create.stderr).toBe('');
    expect(create).toMatchObject({ code: 0, stdout: `Created manifest list ${list}\n` });
    // Kept where and as the docker CLI keeps local lists.
    const fileName = (ref: string) => ref.replace(/:/g, '-').replace(/\//g, '_');
    const listDir = join(d.env.DOCKER_CONFIG as string, 'manifests', fileName(list));
    expect((await readdir(listDir)).sort()).toEqual([fileName(`${repo}:amd64`), fileName(`${repo}:arm64`)]);
    expect(d.berth(['manifest', 'create', list, `${repo}:${hostArch}`])).toMatchObject({ code: 1, stderr: 'berth: refusing to amend an existing manifest list with no --amend flag\n' });
    expect(d.berth(['manifest', 'create', '--amend', list, `${repo}:${hostArch}`]).code).toBe(0);
    expect(d.berth(['manifest', 'annotate', '--variant', 'v8', list, `${repo}:arm64`]).code).toBe(0);
    expect(d.berth(['manifest', 'annotate', '--arch', 'sparc', list, `${repo}:arm64`])).toMatchObject({
      code: 1,
      stderr: 'berth: manifest entry for image has unsupported os/arch combination: linux/sparc\n',
    });
    expect(d.berth(['manifest', 'annotate', '--os', 'linux', list, `${repo}:nosuch`])).toMatchObject({ code: 1, stderr: `berth: manifest for image ${repo}:nosuch does not exist in ${list}\n` });
    const local = d.berth(['manifest', 'inspect', list]);
    expect(local.code).toBe(0);
    const shown = JSON.parse(local.stdout) as { mediaType: string; manifests: Descriptor[] };
    expect(shown.mediaType).toBe(MEDIA_TYPES.dockerManifestList);
    expect(shown.manifests.map((m) => [m.digest, m.platform])).toEqual([
      [digests.amd64, { architecture: 'amd64', os: 'linux' }],
      [digests.arm64, { architecture: 'arm64', os: 'linux', variant: 'v8' }],
    ]);
    // The stock docker CLI reads berth's local list, and would push the same bytes.
    const dockerView = d.docker(['manifest', 'inspect', list]);
    expect(dockerView.stderr).toBe('');
    expect(dockerView.stdout).toBe(local.stdout);
    const entry = JSON.parse(d.berth(['manifest', 'inspect', '-v', list, `${repo}:arm64`]).stdout) as { Ref: string; Descriptor: Descriptor; Raw: string; SchemaV2Manifest: Manifest };
    expect(entry.Ref).toBe(`${repo}:arm64`);
    expect(entry.Descriptor).toMatchObject({ mediaType: MEDIA_TYPES.dockerManifest, digest: digests.arm64, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } });
    expect(sha256(Buffer.from(entry.Raw, 'base64'))).toBe(digests.arm64);
    expect(entry.SchemaV2Manifest.config.digest).toBe(ids.arm64);

    const push = d.berth(['manifest', 'push', '--purge', list]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    const pushed = await api.getManifest('multi/app', '1');
    expect(push.stdout).toBe(`${pushed.digest}\n`);
    expect(pushed.mediaType).toBe(MEDIA_TYPES.dockerManifestList);
    expect(pushed.body.toString()).toBe(JSON.stringify(shown, null, 3));
    expect(existsSync(listDir)).toBe(false); // --purge
    expect(d.berth(['manifest', 'rm', list])).toMatchObject({ code: 1, stderr: `berth: No such manifest: ${list}\n` });
    // What the registry has, read back through the daemon.
    const remote = JSON.parse(d.berth(['manifest', 'inspect', list]).stdout) as { manifests: Descriptor[] };
    expect(remote.manifests.map((m) => m.digest)).toEqual([digests.amd64, digests.arm64]);

    // Pulled back: --platform picks its entry, the default the host's; the host's runs.
    for (const arch of [hostArch, otherArch]) expect(d.berth(['rmi', `${repo}:${arch}`]).code).toBe(0);
    const other = d.berth(['pull', '--platform', `linux/${otherArch}`, list]);
    expect(other.code).toBe(0);
    expect(other.stdout).toContain(`Digest: ${pushed.digest}\n`);
    expect(inspectField(d, list, '{{.Id}} {{.Architecture}}')).toBe(`${ids[otherArch]} ${otherArch}`);
    expect(d.docker(['pull', list]).code).toBe(0);
    expect(inspectField(d, list, '{{.Id}} {{.Architecture}}')).toBe(`${ids[hostArch]} ${hostArch}`);
    expect(d.berth(['run', '--rm', list, 'echo', 'multi-platform'])).toMatchObject({ code: 0, stdout: 'multi-platform\n' });

    // A list in another repository: its images are copied in first (blobs mounted, manifests put by digest).
    const elsewhere = `${reg.host}/multi/list:2`;
    expect(d.berth(['manifest', 'create', elsewhere, `${repo}@${digests.amd64}`, `${repo}@${digests.arm64}`]).code).toBe(0);
    const push2 = d.berth(['manifest', 'push', elsewhere]);
    expect(push2.stderr).toBe('');
    const list2 = await api.getManifest('multi/list', '2');
    // In the store's order: by file name, here the digests'.
    const [first, second] = [digests.amd64, digests.arm64].sort();
    expect(push2.stdout).toBe(
      `Pushed ref ${reg.host}/multi/list@${first} with digest: ${first}\nPushed ref ${reg.host}/multi/list@${second} with digest: ${second}\n${list2.digest}\n`,
    );
    expect((await api.getManifest('multi/list', digests.arm64 as string)).digest).toBe(digests.arm64);
    expect(d.berth(['manifest', 'rm', elsewhere]).code).toBe(0);
    // The stock docker CLI reads the pushed list from the registry.
    const dockerRemote = d.docker(['manifest', 'inspect', '--insecure', elsewhere]);
    expect(dockerRemote.stderr).toBe('');
    expect((JSON.parse(dockerRemote.stdout) as { manifests: Descriptor[] }).manifests.map((m) => m.platform?.architecture).sort()).toEqual(['amd64', 'arm64']);
    const nosuch = d.berth(['manifest', 'create', `${reg.host}/multi/x:1`, `${reg.host}/multi/app:nosuch`]);
    expect(nosuch).toMatchObject({ code: 1, stderr: `Error response from daemon: no such manifest: ${reg.host}/multi/app:nosuch\n` });
    expect(d.berth(['manifest', 'create', `${reg.host}/multi/x:1`, list])).toMatchObject({ code: 1, stderr: `berth: ${list} is a manifest list\n` });
  });

  it('pulls every tag with -a', async () => {
    for (const t of ['a', 'b']) {
      expect(d.berth(['tag', 'busybox', `${reg.host}/lib/tags:${t}`]).code).toBe(0);
      expect(d.berth(['push', '-q', `${reg.host}/lib/tags:${t}`])).toMatchObject({ code: 0, stdout: `${reg.host}/lib/tags:${t}\n` });
      expect(d.berth(['rmi', `${reg.host}/lib/tags:${t}`]).code).toBe(0);
    }
    const r = d.berth(['pull', '-a', `${reg.host}/lib/tags`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('a: Pulling from lib/tags\n');
    expect(r.stdout).toContain('b: Pulling from lib/tags\n');
    expect(r.stdout.endsWith(`${reg.host}/lib/tags\n`)).toBe(true);
    expect(d.berth(['images', '--format', '{{.Tag}}', `${reg.host}/lib/tags`]).stdout.split('\n').filter(Boolean).sort()).toEqual(['a', 'b']);
    expect(d.berth(['pull', '-a', `${reg.host}/lib/tags:a`])).toMatchObject({ code: 1, stderr: "berth: tag can't be used with --all-tags/-a\n" });
    expect(d.berth(['pull', '-q', `${reg.host}/lib/tags:a`])).toMatchObject({ code: 0, stdout: `${reg.host}/lib/tags:a\n` });
  });

  it('says what went wrong: unknown tag or repository, a registry that is not there, rate limits', async () => {
    expect(d.berth(['pull', `${reg.host}/lib/busybox:nosuch`])).toMatchObject({
      code: 1,
      stderr: `Error response from daemon: manifest for ${reg.host}/lib/busybox:nosuch not found: manifest unknown: manifest unknown\n`,
    });
    const port = 1; // nothing listens on port 1
    const down = d.docker(['pull', `127.0.0.1:${port}/x:1`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/Error response from daemon: Get "https?:\/\/127\.0\.0\.1:1\/v2\/": dial tcp 127\.0\.0\.1:1: connect: connection refused/);
    expect(d.berth(['push', `${reg.host}/lib/none:1`])).toMatchObject({ code: 1, stderr: `Error response from daemon: tag does not exist: ${reg.host}/lib/none:1\n` });
    const fake = new FakeRegistry();
    await fake.start();
    try {
      fake.rateLimited = 1;
      const r = await run('berth', ['pull', `${fake.host}/x:1`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('Error response from daemon: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading\n');
    } finally {
      await fake.stop();
    }
  });

  describe('with a fake registry', () => {
    let fake: FakeRegistry;
    beforeAll(async () => {
      fake = new FakeRegistry();
      await fake.start();
    });
    afterAll(async () => {
      await fake?.stop();
    });

    /** An image of one layer (the given blob, whose tar is `tar`) in the fake registry. */
    const addImage = (repo: string, tag: string, blob: Buffer, tar: Buffer, mediaType: string) => {
      const l = fake.addBlob(repo, blob);
      const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['cat', '/hello'] }, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
      const c = fake.addBlob(repo, cfg);
      const m = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: MEDIA_TYPES.ociConfig, ...c }, layers: [{ mediaType, ...l }] };
      fake.addManifest(repo, m, MEDIA_TYPES.ociManifest, tag);
      return { layer: l, config: c };
    };

    it('pulls zstd and uncompressed layers', async () => {
      const tar = await makeTar([{ header: { name: 'hello', mode: 0o644, mtime: new Date(0) }, body: 'hello from a zstd layer\n' }]);
      const zst = spawnSync('zstd', ['-q', '-c'], { input: tar }).stdout;
      addImage('z/app', '1', zst, tar, MEDIA_TYPES.ociLayerZstd);
      const r = await run('berth', ['pull', `${fake.host}/z/app:1`]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // The image has no shell: its file system is checked through export.
      const out = await run('berth', ['create', '--name', 'zst', `${fake.host}/z/app:1`]);
      expect(out.code).toBe(0);
      const exp = spawnSync(process.execPath, [join(REPO, 'bin/berth'), 'export', 'zst'], { env: d.env });
      expect(exp.stdout.includes(Buffer.from('hello from a zstd layer'))).toBe(true);
      expect(d.berth(['rm', 'zst']).code).toBe(0);
      // Saved (gunzipped / un-zstd'ed) like any image.
      const save = spawnSync(process.execPath, [join(REPO, 'bin/berth'), 'save', `${fake.host}/z/app:1`], { env: d.env, maxBuffer: 64 << 20 });
      expect(save.status).toBe(0);
      expect(save.stdout.includes(Buffer.from('hello from a zstd layer'))).toBe(true);

      const plainTar = await makeTar([{ header: { name: 'hello', mode: 0o644, mtime: new Date(0) }, body: 'plain\n' }]);
      addImage('p/app', '1', plainTar, plainTar, MEDIA_TYPES.ociLayer);
      expect((await run('berth', ['pull', `${fake.host}/p/app:1`])).code).toBe(0);
    });

    it('rejects a tampered blob and keeps nothing of it', async () => {
      const tar = await makeTar([{ header: { name: 'hello', mode: 0o644, mtime: new Date(0) }, body: 'x'.repeat(5000) }]);
      const gz = gzipSync(tar);
      const { layer } = addImage('evil/app', '1', gz, tar, MEDIA_TYPES.ociLayerGzip);
      const bad = Buffer.from(gz);
      bad[100] = (bad[100] as number) ^ 0xff;
      fake.tampered.set(layer.digest, bad);
      const r = await run('berth', ['pull', `${fake.host}/evil/app:1`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`filesystem layer verification failed for digest ${layer.digest}`);
      expect(existsSync(join(d.root, 'content', 'blobs', 'sha256', layer.digest.slice(7)))).toBe(false);
      expect(existsSync(join(d.root, 'content', 'ingest', 'partial', layer.digest.slice(7)))).toBe(false);
      expect(d.berth(['image', 'inspect', `${fake.host}/evil/app:1`]).code).toBe(1);
    });

    it('resumes a pull killed half-way from the partial blob, with a Range request', async () => {
      const tar = await makeTar([{ header: { name: 'big', mode: 0o644, mtime: new Date(0) }, body: Buffer.alloc(3_000_000, 7) }, { header: { name: 'hello', mode: 0o644, mtime: new Date(0) }, body: 'resumed\n' }]);
      const { layer } = addImage('slow/app', '1', tar, tar, MEDIA_TYPES.ociLayer);
      fake.blobFaults.set(layer.digest, { stallAfter: 1_000_000, times: 1 });
      const partial = join(d.root, 'content', 'ingest', 'partial', layer.digest.slice(7));
      const first = background(d, 'berth', ['pull', `${fake.host}/slow/app:1`]);
      for (let i = 0; i < 400; i++) {
        const size = (await stat(partial).catch(() => undefined))?.size ?? 0;
        if (size >= 1_000_000) break;
        await sleep(25);
      }
      expect((await stat(partial)).size).toBe(1_000_000);
      first.kill('SIGKILL');
      await first.done;
      await sleep(200);
      const second = await run('berth', ['pull', `${fake.host}/slow/app:1`]);
      expect(second.stderr).toBe('');
      expect(second.code).toBe(0);
      const gets = fake.log.filter((l) => l.method === 'GET' && l.path.endsWith(layer.digest));
      expect(gets.at(-1)?.range).toBe('bytes=1000000-');
      expect(existsSync(partial)).toBe(false);
      expect(inspectField(d, `${fake.host}/slow/app:1`, '{{json .RootFS.Layers}}')).toBe(JSON.stringify([layer.digest]));
    });
  });

  it('basic auth: login (--password-stdin) writes config.json, push and pull use it, logout removes it', async () => {
    const dir = join(tmp, 'basic');
    await rm(dir, { recursive: true, force: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });
    await writeHtpasswd(join(dir, 'htpasswd'), { alice: 'wonderland' });
    const sreg = await startRegistry(dir, { htpasswd: join(dir, 'htpasswd') });
    try {
      const name = `${sreg.host}/private/box:1`;
      expect(d.berth(['tag', 'busybox', name]).code).toBe(0);
      expect(d.berth(['push', name])).toMatchObject({ code: 1, stderr: 'Error response from daemon: no basic auth credentials\n' });
      const bad = d.berth(['login', '-u', 'alice', '--password-stdin', sreg.host], { input: 'wrong\n' });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(`login attempt to http://${sreg.host}/v2/ failed with status: 401 Unauthorized`);
      const login = d.berth(['login', '-u', 'alice', '--password-stdin', sreg.host], { input: 'wonderland\n' });
      expect(login.stdout).toBe('Login Succeeded\n');
      expect(login.stderr).toContain("WARNING! Your credentials are stored unencrypted in '");
      const cfgPath = join(d.env.DOCKER_CONFIG as string, 'config.json');
      expect(JSON.parse(await readFile(cfgPath, 'utf8'))).toEqual({ auths: { [sreg.host]: { auth: Buffer.from('alice:wonderland').toString('base64') } } });
      expect((await stat(cfgPath)).mode & 0o777).toBe(0o600);
      expect(d.berth(['push', name]).code).toBe(0);
      expect(d.berth(['rmi', name]).code).toBe(0);
      expect(d.docker(['pull', name]).code).toBe(0); // the docker CLI reads the same config.json
      expect(d.berth(['logout', sreg.host])).toMatchObject({ code: 0, stdout: `Removing login credentials for ${sreg.host}\n` });
      expect(JSON.parse(await readFile(cfgPath, 'utf8'))).toEqual({ auths: {} });
      expect(d.berth(['logout', sreg.host]).stdout).toBe(`Not logged in to ${sreg.host}\n`);
      expect(d.berth(['rmi', name]).code).toBe(0);
      const denied = d.berth(['pull', name]);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain('no basic auth credentials');
      // docker login through berth's /auth works too.
      const dl = d.docker(['login', '-u', 'alice', '--password-stdin', sreg.host], { input: 'wonderland' });
      expect(dl.stdout).toContain('Login Succeeded');
      expect(d.berth(['pull', name]).code).toBe(0);
    } finally {
      await sreg.stop();
    }
  });

  describe('token auth', () => {
    let issuer: TokenIssuer;
    let treg: Registry;
    beforeAll(async () => {
      const dir = join(tmp, 'token');
      issuer = await startTokenIssuer(join(dir, 'issuer'), { bob: 'builder' }, 2);
      treg = await startRegistry(dir, { token: { realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, rootcertbundle: issuer.certFile } });
    });
    afterAll(async () => {
      await treg?.stop();
      await issuer?.stop();
    });

    it('gets bearer tokens from the realm (anonymous and as a user) and a new one when it expires', async () => {
      const name = `${treg.host}/bob/box:1`;
      expect(d.berth(['tag', 'busybox', name]).code).toBe(0);
      const anon = await run('berth', ['push', name]);
      expect(anon.code).toBe(1);
      expect(anon.stderr).toMatch(/unauthorized|denied|authentication required/);
      const login = await run('berth', ['login', '-u', 'bob', '--password-stdin', treg.host], 'builder\n');
      expect(login.stdout).toBe('Login Succeeded\n');
      const badLogin = await run('berth', ['login', '-u', 'bob', '--password-stdin', treg.host], 'nope\n');
      expect(badLogin.code).toBe(1);
      expect(badLogin.stderr).toContain('unauthorized: incorrect username or password');
      const push = await run('berth', ['push', name]);
      expect(push.stderr).toBe('');
      expect(push.code).toBe(0);
      const pushScopes = issuer.requests.filter((r) => r.user === 'bob' && r.status === 200).flatMap((r) => r.scopes);
      expect(pushScopes).toContain('repository:bob/box:pull,push');
      expect(d.berth(['rmi', name]).code).toBe(0);
      const before = issuer.requests.length;
      expect((await run('berth', ['pull', name])).code).toBe(0);
      // Tokens live 2 s: a later pull presents a stale token, gets 401, fetches a new one.
      await sleep(3000);
      expect(d.berth(['rmi', name]).code).toBe(0);
      const again = await run('berth', ['pull', name]);
      expect(again.stderr).toBe('');
      expect(again.code).toBe(0);
      expect(issuer.requests.length).toBeGreaterThan(before);
      expect(issuer.requests.slice(before).every((r) => r.user === 'bob')).toBe(true);
    });
  });

  it('daemon.json: a mirror is used first, the origin after; docker info shows the mirrors', async () => {
    const origin = new FakeRegistry();
    await origin.start();
    const cfgFile = join(tmp, 'daemon.json');
    await writeFile(
      cfgFile,
      JSON.stringify({
        'registry-mirrors': [`http://${reg.host}`],
        'registry-mirrors-for': { [origin.host]: [`http://${reg.host}`] },
        'registry-origin-for': { 'docker.io': 'http://127.0.0.1:9' },
        'max-concurrent-downloads': 2,
        'max-concurrent-uploads': 1,
      }),
    );
    const dm = await startDaemon({ configFile: cfgFile, env: UNPACK_EVERY_LAYER_APART });
    try {
      // The mirror (the real registry) has lib/busybox:1; the origin has nothing and is not asked.
      const r = await run('berth', ['pull', `${origin.host}/lib/busybox:1`], undefined, dm);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(origin.log.filter((l) => l.path.includes('/lib/busybox/'))).toEqual([]);
      expect(inspectField(dm, `${origin.host}/lib/busybox:1`, '{{.Id}}')).toBe(busyboxId);
      // What the mirror lacks comes from the origin.
      const tar = await makeTar([{ header: { name: 'o', mode: 0o644, mtime: new Date(0) }, body: 'origin\n' }]);
      const l = origin.addBlob('only/origin', tar);
      const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
      const c = origin.addBlob('only/origin', cfg);
      origin.addManifest('only/origin', { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: MEDIA_TYPES.ociConfig, ...c }, layers: [{ mediaType: MEDIA_TYPES.ociLayer, ...l }] }, MEDIA_TYPES.ociManifest, '1');
      const r2 = await run('berth', ['pull', `${origin.host}/only/origin:1`], undefined, dm);
      expect(r2.code).toBe(0);
      expect(origin.log.some((e) => e.path === '/v2/only/origin/manifests/1')).toBe(true);
      expect(dm.docker(['info', '--format', '{{json .RegistryConfig.Mirrors}}']).stdout.trim()).toBe(JSON.stringify([`http://${reg.host}/`]));
      // docker.io through its mirror (the real registry has lib/busybox:1 as docker.io/lib/busybox:1 there).
      const hub = await run('docker', ['pull', 'lib/busybox:1'], undefined, dm);
      expect(hub.stderr).toBe('');
      expect(hub.stdout).toContain('Status: Downloaded newer image for lib/busybox:1');
    } finally {
      await dm.stop();
      await origin.stop();
    }
  });
});
