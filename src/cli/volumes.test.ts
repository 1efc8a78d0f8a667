import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  pruneResult,
  pruneSummary,
  renderInspect,
  renderVolumeList,
  volumeCreateRequest,
  volumeInspectView,
  volumeListFormat,
  volumeRow,
  type VolumeResource,
} from './volumes.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../test/golden/volume-ls/', import.meta.url));

/** Compares with test/golden/volume-ls/<name>; `UPDATE_GOLDEN=1` rewrites the file instead. */
function expectGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, name);
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

const ANON = '5e59affbdaab581a8bf404deade9fbd4b3130a2199be5bc8d79088708b0e2a31';
const mk = (Name: string, extra: Partial<VolumeResource> = {}): VolumeResource => ({
  CreatedAt: '2026-11-23T11:53:50Z',
  Driver: 'local',
  Labels: {},
  Mountpoint: `/tmp/bv/root/volumes/${Name}/_data`,
  Name,
  Options: {},
  Scope: 'local',
  Status: null,
  ...extra,
});

// What GET /volumes returned in the side-by-side run (berth's daemon sorts by code point).
const VOLUMES: VolumeResource[] = [
  mk(ANON),
  mk('data', { Labels: { b: '', a: '1' } }),
  mk('scratch', { Options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } }),
  mk('vol10'),
  mk('vol2'),
];

const ls = (format?: string, quiet = false) => renderVolumeList(VOLUMES, { format, quiet });

describe('volume ls', () => {
  it('prints DRIVER and VOLUME NAME, sorted naturally by name (docker 28 output)', () => {
    const out = ls();
    expect(out).toBe(
      'DRIVER    VOLUME NAME\n' +
        `local     ${ANON}\n` +
        'local     data\n' +
        'local     scratch\n' +
        'local     vol2\n' +
        'local     vol10\n',
    );
    expectGolden('ls-default.txt', out);
    expect(ls('table')).toBe(out);
  });

  it('-q prints names (also with --format table); -q keeps a template', () => {
    expect(ls(undefined, true)).toBe(`${ANON}\ndata\nscratch\nvol2\nvol10\n`);
    expect(ls('table', true)).toBe(ls(undefined, true));
    expect(ls('{{.Driver}}', true)).toBe('local\nlocal\nlocal\nlocal\nlocal\n');
  });

  it('--format json: the formatter fields, sorted keys, N/A without usage data', () => {
    const out = ls('json');
    expectGolden('ls-json.txt', out);
    expect(JSON.parse(out.split('\n')[1] as string)).toEqual({
      Availability: 'N/A',
      Driver: 'local',
      Group: 'N/A',
      Labels: 'a=1,b=',
      Links: 'N/A',
      Mountpoint: '/tmp/bv/root/volumes/data/_data',
      Name: 'data',
      Scope: 'local',
      Size: 'N/A',
      Status: 'N/A',
    });
  });

  it('raw, and raw with -q', () => {
    expectGolden('ls-raw.txt', ls('raw'));
    expect(ls('raw', true)).toBe(`name: ${ANON}\nname: data\nname: scratch\nname: vol2\nname: vol10\n`);
    expect(volumeListFormat('raw', false)).toBe('name: {{.Name}}\\ndriver: {{.Driver}}\\n');
  });

  it('custom tables use the docker headers', () => {
    const out = ls('table {{.Name}}\\t{{.Labels}}\\t{{.Mountpoint}}\\t{{.Scope}}\\t{{.Size}}\\t{{.Links}}\\t{{.Group}}\\t{{.Status}}\\t{{.Availability}}');
    expect(out.split('\n')[0]).toMatch(/^VOLUME NAME +LABELS +MOUNTPOINT +SCOPE +SIZE +LINKS +GROUP +STATUS +AVAILABILITY$/);
    expectGolden('ls-custom-table.txt', out);
  });

  it('prints only the header for no volumes', () => {
    expect(renderVolumeList([], { quiet: false })).toBe('DRIVER    VOLUME NAME\n');
    expect(renderVolumeList([], { quiet: true })).toBe('');
  });

  it('Links and Size come from UsageData (system df -v)', () => {
    const row = volumeRow(mk('v', { UsageData: { Size: 51200, RefCount: 2 } }));
    expect([row.Links, row.Size]).toEqual(['2', '51.2kB']);
  });
});

describe('volume create', () => {
  it('sends what the docker CLI sends, maps in Go order', () => {
    const body = volumeCreateRequest('scratch', { driver: 'local', opts: ['type=tmpfs', 'device=tmpfs', 'o=size=1m'], labels: ['z=1', 'a'] });
    expect(JSON.stringify(body)).toBe('{"Driver":"local","DriverOpts":{"device":"tmpfs","o":"size=1m","type":"tmpfs"},"Labels":{"a":"","z":"1"},"Name":"scratch"}');
    expect(volumeCreateRequest('', { driver: 'local', opts: [], labels: [] })).toEqual({ Driver: 'local', DriverOpts: {}, Labels: {}, Name: '' });
  });

  it('rejects labels as pflag does', () => {
    expect(() => volumeCreateRequest('x', { driver: 'local', opts: [], labels: ['=x'] })).toThrow(`invalid argument "=x" for "--label" flag: invalid label '=x': empty name`);
  });
});

describe('volume inspect', () => {
  it('re-encodes like the docker CLI: struct order, sorted maps, no Status', () => {
    const v = volumeInspectView(mk('data', { Labels: { b: '', a: '1' }, Status: null }));
    expect(JSON.stringify(v)).toBe(
      '{"CreatedAt":"2026-11-23T11:53:50Z","Driver":"local","Labels":{"a":"1","b":""},"Mountpoint":"/tmp/bv/root/volumes/data/_data","Name":"data","Options":{},"Scope":"local"}',
    );
    expect(volumeInspectView({ Name: 'n', Labels: null })).toEqual({ CreatedAt: '', Driver: '', Labels: null, Mountpoint: '', Name: 'n', Options: null, Scope: '' });
  });

  it('prints an indented array, a compact one for -f json, a template per volume', async () => {
    const found = [volumeInspectView(mk('data')), volumeInspectView(mk('vol2'))];
    expect(await renderInspect([], undefined)).toBe('[]\n');
    expect(await renderInspect([], 'json')).toBe('[]\n');
    expect(await renderInspect(found, undefined)).toBe(`${JSON.stringify(found, null, 4)}\n`);
    expect(await renderInspect(found, 'json')).toBe(`${JSON.stringify(found)}\n`);
    expect(await renderInspect(found, '{{.Name}} {{.Labels}}')).toBe('data map[]\nvol2 map[]\n');
  });
});

describe('prune reports', () => {
  it('Deleted Volumes, a blank line, then the total; the space counts only with deletions', () => {
    const r = pruneResult('Deleted Volumes:', ['k1', 'anon'], 51200);
    expect(r).toEqual({ reclaimed: 51200, output: 'Deleted Volumes:\nk1\nanon\n' });
    expect(pruneSummary([r])).toBe('Deleted Volumes:\nk1\nanon\n\nTotal reclaimed space: 51.2kB\n');
    expect(pruneSummary([pruneResult('Deleted Volumes:', null, 99)])).toBe('Total reclaimed space: 0B\n');
  });

  it('sums several pruners (system prune)', () => {
    const out = pruneSummary([
      pruneResult('Deleted Containers:', ['c1'], 307200),
      pruneResult('Deleted Networks:', ['pr-net'], 0),
      pruneResult('Deleted Images:', ['untagged: pr-img:1', 'deleted: sha256:3508'], 2439000),
    ]);
    expect(out).toBe('Deleted Containers:\nc1\n\nDeleted Networks:\npr-net\n\nDeleted Images:\nuntagged: pr-img:1\ndeleted: sha256:3508\n\nTotal reclaimed space: 2.746MB\n');
  });
});
