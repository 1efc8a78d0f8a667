import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCacheRow, builderSize, diskUsageDetail, diskUsageSummary, hasFilter, renderDiskUsage, systemPruneWarning, type DiskUsage } from './disk-usage.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../test/golden/system-df/', import.meta.url));

/** Compares with test/golden/system-df/<name>; `UPDATE_GOLDEN=1` rewrites the file instead. */
function expectGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, name);
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

// Rendered times are local: pin the zone so goldens are the same everywhere.
let savedTz: string | undefined;
beforeAll(() => {
  savedTz = process.env['TZ'];
  process.env['TZ'] = 'UTC';
});
afterAll(() => {
  if (savedTz === undefined) delete process.env['TZ'];
  else process.env['TZ'] = savedTz;
});

const NOW = Date.parse('2026-11-23T11:54:09Z');
const secs = (iso: string) => Date.parse(iso) / 1000;
const IMAGE_ID = 'sha256:f1d0eed2465a93e0ee78887475f2b02cd9bd7d3cb994217b5cca3a5e5ebf13b7';
const ANON = '5e59affbdaab581a8bf404deade9fbd4b3130a2199be5bc8d79088708b0e2a31';
const ANON2 = '2b8158576798744ba12ee4a7c9432e78ca5001200d3a25a7ff58e3a286b11094';
const vol = (Name: string, Size: number, RefCount: number) => ({
  CreatedAt: '2026-11-23T11:53:50Z',
  Driver: 'local',
  Labels: {},
  Mountpoint: `/tmp/bv/root/volumes/${Name}/_data`,
  Name,
  Options: {},
  Scope: 'local',
  UsageData: { Size, RefCount },
});

/** GET /system/df as berth's daemon answered in the side-by-side run with the docker CLI. */
const DU: DiskUsage = {
  LayersSize: 2129920,
  Images: [{ Id: IMAGE_ID, ParentId: '', RepoTags: ['busybox:latest'], RepoDigests: [], Created: secs('2026-11-23T11:53:47Z'), Size: 2129920, SharedSize: 0, Containers: 2 }],
  Containers: [
    {
      Id: 'fbeea254eba238f32403a007246697425e8e8fecc351b96376f05899aba7319d',
      Names: ['/stopped'],
      Image: 'busybox',
      ImageID: IMAGE_ID,
      Command: "sh -c 'echo hello > /anon/f; dd if=/dev/zero of=/big bs=1k count=300 2>/dev/null'",
      Created: secs('2026-11-23T11:54:08Z'),
      Ports: [],
      SizeRw: 307200,
      SizeRootFs: 2437120,
      Labels: {},
      State: 'exited',
      Status: 'Exited (0) Less than a second ago',
      NetworkSettings: { Networks: { bridge: {} } },
      Mounts: [{ Name: ANON2, Source: `/tmp/bv/root/volumes/${ANON2}/_data`, Driver: 'local' }],
    },
    {
      Id: '8f8ca15c71e761d1ce2340ad3e29d6280245b2afe37119717abb49f2d039b567',
      Names: ['/runner'],
      Image: 'busybox',
      ImageID: IMAGE_ID,
      Command: 'sleep 1000',
      Created: secs('2026-11-23T11:54:08Z'),
      Ports: [],
      SizeRw: 0,
      SizeRootFs: 2129920,
      Labels: {},
      State: 'running',
      Status: 'Up 1 second',
      NetworkSettings: { Networks: { bridge: {} } },
      Mounts: [{ Name: 'data', Source: '/tmp/bv/root/volumes/data/_data', Driver: 'local' }],
    },
  ],
  Volumes: [vol(ANON, 0, 0), vol('data', 0, 1), vol('scratch', 0, 0), vol('vol10', 51200, 0), vol(ANON2, 6, 1)],
  BuildCache: [],
};

describe('system df', () => {
  it('prints the summary the docker CLI printed for the same daemon', () => {
    const out = renderDiskUsage(DU, { verbose: false, now: NOW });
    expect(out).toBe(
      'TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n' +
        'Images          1         1         2.13MB    0B (0%)\n' +
        'Containers      2         1         307.2kB   307.2kB (100%)\n' +
        'Local Volumes   5         2         51.21kB   51.2kB (99%)\n' +
        'Build Cache     0         0         0B        0B\n',
    );
    expectGolden('summary.txt', out);
    expect(renderDiskUsage(DU, { format: 'table', verbose: false })).toBe(out);
  });

  it('--format json, raw and custom tables', () => {
    expectGolden('summary-json.txt', renderDiskUsage(DU, { format: 'json', verbose: false }));
    expect(renderDiskUsage(DU, { format: 'json', verbose: false }).split('\n')[2]).toBe(
      '{"Active":"2","Reclaimable":"51.2kB (99%)","Size":"51.21kB","TotalCount":"5","Type":"Local Volumes"}',
    );
    expectGolden('summary-raw.txt', renderDiskUsage(DU, { format: 'raw', verbose: false }));
    expect(renderDiskUsage(DU, { format: 'table {{.Type}}\\t{{.Size}}', verbose: false })).toBe(
      'TYPE            SIZE\nImages          2.13MB\nContainers      307.2kB\nLocal Volumes   51.21kB\nBuild Cache     0B\n',
    );
    expect(renderDiskUsage(DU, { format: '{{.Type}}: {{.Reclaimable}}', verbose: false })).toBe(
      'Images: 0B (0%)\nContainers: 307.2kB (100%)\nLocal Volumes: 51.2kB (99%)\nBuild Cache: 0B\n',
    );
    // The docker CLI's words for a field the summary rows lack: the first row's type.
    expect(() => renderDiskUsage(DU, { format: '{{.Nope}}', verbose: false })).toThrow(
      'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.diskUsageImagesContext',
    );
  });

  it('-v prints the four sections the docker CLI printed', () => {
    const out = renderDiskUsage(DU, { verbose: true, now: NOW });
    expect(out).toBe(
      [
        'Images space usage:',
        '',
        'REPOSITORY   TAG       IMAGE ID       CREATED          SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS',
        'busybox      latest    f1d0eed2465a   22 seconds ago   2.13MB    0B            2.13MB        2',
        '',
        'Containers space usage:',
        '',
        'CONTAINER ID   IMAGE     COMMAND                  LOCAL VOLUMES   SIZE      CREATED        STATUS                              NAMES',
        'fbeea254eba2   busybox   "sh -c \'echo hello >…"   1               307kB     1 second ago   Exited (0) Less than a second ago   stopped',
        '8f8ca15c71e7   busybox   "sleep 1000"             1               0B        1 second ago   Up 1 second                         runner',
        '',
        'Local Volumes space usage:',
        '',
        'VOLUME NAME                                                        LINKS     SIZE',
        `${ANON}   0         0B`,
        'data                                                               1         0B',
        'scratch                                                            0         0B',
        'vol10                                                              0         51.2kB',
        `${ANON2}   1         6B`,
        '',
        'Build cache usage: 0B',
        '',
        'CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED',
        '',
      ].join('\n'),
    );
    expectGolden('verbose.txt', out);
  });

  it('-v with raw, json or a template runs it once over all lists, untruncated, no newline added', () => {
    expectGolden('verbose-raw.txt', renderDiskUsage(DU, { format: 'raw', verbose: true, now: NOW }));
    const json = renderDiskUsage(DU, { format: 'json', verbose: true, now: NOW });
    expectGolden('verbose-json.txt', json);
    expect(json.endsWith('}')).toBe(true);
    expect(json).toContain('"Command":"\\"sh -c \'echo hello \\u003e /anon/f; dd if=/dev/zero of=/big bs=1k count=300 2\\u003e/dev/null\'\\""');
    expect(Object.keys(JSON.parse(json) as object)).toEqual(['Images', 'Containers', 'Volumes', 'BuildCache']);
    expect(renderDiskUsage(DU, { format: '{{range .Images}}{{.ID}}{{end}}', verbose: true, now: NOW })).toBe(IMAGE_ID);
    expect(renderDiskUsage(DU, { format: 'table {{range .Images}}{{.ID}}{{end}}', verbose: true, now: NOW })).toBe('f1d0eed2465a');
    expect(renderDiskUsage(DU, { format: '{{range .Volumes}}{{.Name}}={{.Size}}/{{.Links}} {{end}}', verbose: true })).toBe(
      `${ANON}=0B/0 data=0B/1 scratch=0B/0 vol10=51.2kB/0 ${ANON2}=6B/1 `,
    );
  });

  it('container rows carry Platform and sorted keys, without the virtual size', () => {
    const [c] = diskUsageDetail(DU, { trunc: true, now: NOW }).Containers;
    expect(Object.keys(c ?? {})).toEqual(['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
    expect(c?.['Size']).toBe('307kB');
    expect(c?.['Platform']).toBeNull();
  });

  it('names images by their first tag, <none> when dangling; skips unparseable tags', () => {
    const images = [
      { Id: 'sha256:aaa', RepoTags: ['docker.io/library/busybox:1', 'x:2'], Containers: 0, Size: 10, SharedSize: 0 },
      { Id: 'sha256:bbb', RepoTags: [], RepoDigests: [], Containers: 0, Size: 10, SharedSize: 0 },
      { Id: 'sha256:ccc', RepoTags: ['Bad Tag'], Containers: 0, Size: 10, SharedSize: 0 },
    ];
    const rows = diskUsageDetail({ Images: images }, { trunc: true, now: NOW }).Images;
    expect(rows.map((r) => `${String(r['Repository'])}:${String(r['Tag'])}`)).toEqual(['busybox:1', '<none>:<none>']);
  });
});

describe('disk usage sums', () => {
  it('images: shared and unique sizes of used images are not reclaimable', () => {
    const [images] = diskUsageSummary({
      LayersSize: 1000,
      Images: [
        { Id: 'a', Size: 600, SharedSize: 200, Containers: 1 },
        { Id: 'b', Size: 400, SharedSize: 200, Containers: 0 },
        { Id: 'c', Size: -1, SharedSize: -1, Containers: 3 },
      ],
    });
    expect(images).toEqual({ Active: '2', Reclaimable: '600B (60%)', Size: '1kB', TotalCount: '3', Type: 'Images' });
  });

  it('containers: running, paused and restarting are active', () => {
    const c = (State: string, SizeRw: number) => ({ Id: State, State, SizeRw });
    const [, containers] = diskUsageSummary({ Containers: [c('running', 100), c('paused', 100), c('restarting', 100), c('exited', 300), c('created', 400)] });
    expect(containers).toEqual({ Active: '3', Reclaimable: '700B (70%)', Size: '1kB', TotalCount: '5', Type: 'Containers' });
  });

  it('volumes: unknown sizes (-1) are left out; percent is truncated', () => {
    const v = (Name: string, Size: number, RefCount: number) => ({ Name, UsageData: { Size, RefCount } });
    const [, , volumes] = diskUsageSummary({ Volumes: [v('a', 2, 0), v('b', 1, 1), v('c', -1, 0)] });
    expect(volumes).toEqual({ Active: '1', Reclaimable: '2B (66%)', Size: '3B', TotalCount: '3', Type: 'Local Volumes' });
  });

  it('build cache: shared records are not counted, in-use ones not reclaimable', () => {
    const cache = [
      { ID: 'a', Size: 1000, InUse: true },
      { ID: 'b', Size: 500, Shared: true },
      { ID: 'c', Size: 2000 },
    ];
    expect(builderSize(cache)).toBe(3000);
    expect(diskUsageSummary({ BuildCache: cache })[3]).toEqual({ Active: '1', Reclaimable: '2kB', Size: '3kB', TotalCount: '3', Type: 'Build Cache' });
  });

  it('empty: no percentages', () => {
    expect(diskUsageSummary({}).map((r) => r.Reclaimable)).toEqual(['0B', '0B', '0B', '0B']);
  });

  it('build cache rows: * marks records in use; IDs and parents truncated in tables', () => {
    const row = buildCacheRow(
      { ID: 'k5j2xq8v1w0e9r7t6y5u4i3o2', Parents: ['p1234567890abcdef'], Type: 'regular', Description: 'mount / from exec /bin/sh -c make', InUse: true, Shared: false, Size: 12345678, CreatedAt: '2026-11-23T11:00:00Z', LastUsedAt: '2026-11-23T11:50:00Z', UsageCount: 3 },
      { trunc: true, now: NOW },
    );
    expect(row).toMatchObject({ ID: 'k5j2xq8v1w0e*', Parent: 'p1234567890a', CacheType: 'regular', Size: '12.3MB', CreatedSince: '54 minutes ago', LastUsedSince: '4 minutes ago', UsageCount: '3', InUse: 'true', Shared: 'false' });
  });
});

describe('system prune', () => {
  it('warns with what it removes', () => {
    expect(systemPruneWarning({ all: false, volumes: false, buildCache: true, filters: [] })).toBe(
      'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue?',
    );
    expect(systemPruneWarning({ all: true, volumes: true, buildCache: true, filters: [] })).toBe(
      'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all anonymous volumes not used by at least one container\n  - all images without at least one container associated to them\n  - all build cache\n\nAre you sure you want to continue?',
    );
  });

  it('lists the label, label! and until filters, naturally sorted, once each', () => {
    expect(systemPruneWarning({ all: false, volumes: true, buildCache: true, filters: ['label=x', 'label!=y', 'until=10m', 'label=x', 'dangling=true'] })).toBe(
      'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all anonymous volumes not used by at least one container\n  - all dangling images\n  - unused build cache\n\n' +
        '  Items to be pruned will be filtered with:\n  - label!=y\n  - label=x\n  - until=10m\n\nAre you sure you want to continue?',
    );
  });

  it('hasFilter finds a key as filters.Args.Contains does', () => {
    expect(hasFilter(['label=a', 'Until=1h'], 'until')).toBe(true);
    expect(hasFilter(['label=until=1h'], 'until')).toBe(false);
  });
});
