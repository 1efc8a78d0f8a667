import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../../core/errors.js';
import { IMAGES_DIGEST_TABLE, IMAGES_HEADERS, IMAGES_TABLE, PS_HEADERS, PS_TABLE, containerRow, imageRows } from '../rows.js';
import { HEADER_FUNCTIONS } from './functions.js';
import { formatOne, formatRows, type FormatDefaults } from './index.js';
import { headerName } from './rows.js';
import { tabwrite } from './tabwriter.js';
import { Template } from './template.js';
import { HeaderValue } from './values.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../../test/golden/format/', import.meta.url));

/** Compares with test/golden/format/<name>; `UPDATE_GOLDEN=1` rewrites the file instead. */
function expectGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, name);
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

const containers = [
  {
    ID: '3f4e5d6c7b8a',
    Image: 'nginx:1.27',
    Names: 'web',
    Status: 'Up 2 hours',
    Ports: ['0.0.0.0:8080->80/tcp', '[::]:8080->80/tcp'],
    State: { Status: 'running' },
  },
  {
    ID: 'a1b2c3d4e5f6',
    Image: 'postgres:16-alpine',
    Names: 'db',
    Status: 'Up 2 hours (healthy)',
    Ports: [],
    State: { Status: 'running' },
  },
  {
    ID: '9c8b7a6f5e4d',
    Image: 'busybox',
    Names: 'very-long-container-name',
    Status: 'Exited (0) 5 minutes ago',
    Ports: [],
    State: { Status: 'exited' },
  },
];

const psDefaults = {
  table: 'table {{.ID}}\t{{.Image}}\t{{.Status}}\t{{.Names}}',
  headers: { ID: 'CONTAINER ID', Image: 'IMAGE', Status: 'STATUS', Names: 'NAMES', Ports: 'PORTS' },
};

describe('formatRows', () => {
  it('aligns a table like the docker CLI (minwidth 10, padding 3)', () => {
    const out = formatRows(undefined, containers, psDefaults);
    const row = (cells: string[]): string =>
      `${(cells[0] ?? '').padEnd(15)}${(cells[1] ?? '').padEnd(21)}${(cells[2] ?? '').padEnd(27)}${cells[3] ?? ''}`;
    expect(out).toBe(
      [
        row(['CONTAINER ID', 'IMAGE', 'STATUS', 'NAMES']),
        row(['3f4e5d6c7b8a', 'nginx:1.27', 'Up 2 hours', 'web']),
        row(['a1b2c3d4e5f6', 'postgres:16-alpine', 'Up 2 hours (healthy)', 'db']),
        row(['9c8b7a6f5e4d', 'busybox', 'Exited (0) 5 minutes ago', 'very-long-container-name']),
        '',
      ].join('\n'),
    );
    expectGolden('ps-default-table.txt', out);
  });

  it('uses the default table for "" and "table"', () => {
    const expected = formatRows(undefined, containers, psDefaults);
    expect(formatRows('', containers, psDefaults)).toBe(expected);
    expect(formatRows('table', containers, psDefaults)).toBe(expected);
  });

  it('renders custom table formats, deriving headers for unmapped fields', () => {
    const out = formatRows(
      'table {{.Names}}\\t{{join .Ports ", "}}\\t{{.State.Status}}\\t{{upper .Image}}\\t{{.CreatedSince}}',
      containers,
      psDefaults,
    );
    expectGolden('ps-custom-table.txt', out);
    expect(out.split('\n')[0]).toBe(
      'NAMES                      PORTS                                     STATE STATUS   IMAGE                CREATED SINCE',
    );
  });

  it('prints only the header for a table with no rows', () => {
    const out = formatRows(undefined, [], psDefaults);
    expect(out).toBe('CONTAINER ID   IMAGE     STATUS    NAMES\n');
    expectGolden('ps-empty-table.txt', out);
  });

  it('prints one JSON document per row for "json"', () => {
    const out = formatRows('json', containers, psDefaults);
    expect(out.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual(containers);
    expectGolden('ps-json.txt', out);
  });

  it('renders other formats once per row, expanding \\t and \\n and trimming spaces', () => {
    expect(formatRows('  {{.ID}}\\t{{.Names}}  ', containers.slice(0, 2), psDefaults)).toBe(
      '3f4e5d6c7b8a\tweb\na1b2c3d4e5f6\tdb\n',
    );
    expect(formatRows('{{.Names}}\\n--', containers.slice(0, 1), psDefaults)).toBe('web\n--\n');
    expect(formatRows('{{.Names}}', [], psDefaults)).toBe('');
    expectGolden('ps-template.txt', formatRows('{{.Names}}: {{.State.Status}}', containers, psDefaults));
  });

  it('uses header titles for piped and printf-formatted fields', () => {
    const out = formatRows('table {{.Names | printf "%-8s"}}|\\t{{.ID}}', containers.slice(0, 1), psDefaults);
    expect(out).toBe('NAMES   |   CONTAINER ID\nweb     |   3f4e5d6c7b8a\n');
  });

  it('reports template errors as InvalidArgument', () => {
    expect(() => formatRows('{{.Names | nope}}', containers, psDefaults)).toThrow(InvalidArgument);
    expect(() => formatRows('{{.Names | nope}}', containers, psDefaults)).toThrow(
      'template: :1: function "nope" not defined',
    );
  });

  it("prints a formatter context's JSON with sorted keys, as its MarshalJSON (a map of its fields) does", () => {
    const ps = { ...psDefaults, context: '*formatter.ContainerContext' };
    for (const format of ['json', '{{json .}}']) {
      const keys = formatRows(format, containers.map((c) => ({ ...c })), ps).split('\n').filter(Boolean).map((l) => Object.keys(JSON.parse(l) as object));
      expect(keys[0]?.length).toBeGreaterThan(5);
      for (const k of keys) expect(k).toEqual([...k].sort());
    }
    // Not for other Go structs (events.Message keeps its fields' order) or plain data.
    expect(formatRows('{{json .}}', [{ b: 1, a: 2 }], { table: '' })).toBe('{"b":1,"a":2}\n');
  });

  it("names the docker CLI's row type for a field a row lacks, as docker does; inspect-like data prints <no value>", () => {
    const ps = { ...psDefaults, context: '*formatter.ContainerContext' };
    // `docker ps -a --format '{{.Nope}}'` against a daemon: the same words.
    const message = 'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext';
    expect(() => formatRows('{{.Nope}}', containers.map((c) => ({ ...c })), ps)).toThrow(message);
    expect(() => formatRows('table {{.ID}}\t{{.Nope}}', containers.map((c) => ({ ...c })), ps)).toThrow(/can't evaluate field Nope in type \*formatter.ContainerContext/);
    expect(() => formatRows('{{.Names.Nope}}', containers.map((c) => ({ ...c })), ps)).toThrow(/can't evaluate field Nope in type string/);
    // Fields it has, `json` and methods are as before; without a context a missing key is <no value>.
    expect(formatRows('{{.Names}}', containers.map((c) => ({ ...c })), ps)).toBe('web\ndb\nvery-long-container-name\n');
    expect(formatRows('json', containers.map((c) => ({ ...c })), ps).split('\n').map((l) => l && JSON.parse(l) as unknown)).toEqual(formatRows('json', containers, psDefaults).split('\n').map((l) => l && JSON.parse(l) as unknown));
    expect(formatRows('{{.Label "a"}}', [{ Label: (k: string) => `label ${k}` }], ps)).toBe('label a\n');
    expect(formatRows('{{.Nope}}', containers, psDefaults)).toBe('<no value>\n'.repeat(3));
    // No rows, nothing executed: no error (`docker volume ls --format '{{.Nope}}'` with none).
    expect(formatRows('{{.Nope}}', [], ps)).toBe('');
  });
});

/** formatRows as it was before its fields-only fast path: every format through the template engine. */
function viaEngine(format: string | undefined, rows: readonly object[], defaults: FormatDefaults): string {
  const chosen = format === undefined || format === '' || format === 'table' ? defaults.table : format;
  const isTable = chosen === 'table' || chosen.startsWith('table ');
  const body = (isTable ? chosen.slice(5) : chosen).replace(/^ +| +$/g, '').replace(/\\[tn]/g, (e) => (e === '\\t' ? '\t' : '\n'));
  const template = new Template(body);
  const lines = rows.map((row) => `${template.execute(row)}\n`).join('');
  if (!isTable) return lines;
  const headers = defaults.headers ?? {};
  const resolve = (path: readonly string[]): string => {
    const key = path.join('.');
    return Object.hasOwn(headers, key) ? (headers[key] ?? key) : path.map(headerName).join(' ');
  };
  return tabwrite(`${template.execute(new HeaderValue([], resolve), HEADER_FUNCTIONS)}\n${lines}`);
}

describe('formatRows without the template engine (text and {{.Field}} only)', () => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);
  const psRows = [
    { Id: 'f'.repeat(64), Names: ['/web'], Image: 'nginx:1.27', ImageID: 'sha256:' + 'a'.repeat(64), Command: 'nginx -g "daemon off;"', Created: now / 1000 - 7200, Ports: [{ PrivatePort: 80, PublicPort: 8080, Type: 'tcp', IP: '0.0.0.0' }], State: 'running', Status: 'Up 2 hours' },
    { Id: 'e'.repeat(64), Names: ['/db', '/web/db'], Image: 'sha256:' + 'b'.repeat(64), ImageID: 'sha256:' + 'b'.repeat(64), Command: 'docker-entrypoint.sh postgres', Created: now / 1000 - 60, Ports: [], State: 'exited', Status: 'Exited (0) 5 seconds ago' },
    { Id: 'd'.repeat(64), Names: ['/émoji-😀'], Image: 'busybox', ImageID: '', Command: 'sh', Created: now / 1000 - 5, State: 'created', Status: 'Created' },
  ].map((c) => containerRow(c, { trunc: true, now }));
  const ps = { table: PS_TABLE, headers: PS_HEADERS };
  const imgRows = imageRows(
    [
      { Id: 'sha256:' + 'c'.repeat(64), RepoTags: ['busybox:latest', 'mybox:1'], RepoDigests: ['busybox@sha256:' + '1'.repeat(64)], Created: now / 1000 - 86400 * 40, Size: 4_261_550 },
      { Id: 'sha256:' + 'd'.repeat(64), RepoTags: [], RepoDigests: [], Created: now / 1000 - 3600, Size: 0 },
    ],
    { trunc: true, digests: true, now },
  );

  it.each([
    [undefined],
    [''],
    ['table'],
    ['{{.ID}}'],
    ['table {{ .ID }}\\t{{.Names}}'],
    ['  {{.ID}}\\t{{.Names}}  '],
    ['{{.Names}}\\n--'],
    ['}}{{.Names}}}}'],
    ['table {{.ID}}\\t{{.Size}}\\t{{.LocalVolumes}}\\t{{.CreatedAt}}'],
    ['no actions at all'],
    ['table {{.Nope}}'],
    ['{{.ID}} {{- .Names}}'],
    ['{{.ID}}{{/* c */}}'],
    ['{{.ID | printf "%.3s"}}'],
  ])('ps rows, format %j', (format) => {
    expect(formatRows(format, psRows, ps)).toBe(viaEngine(format, psRows, ps));
    expect(formatRows(format, [], ps)).toBe(viaEngine(format, [], ps));
  });

  it.each([[undefined], ['table {{.Repository}}:{{.Tag}}\\t{{.Digest}}'], ['{{.ID}}']])('image rows, format %j', (format) => {
    for (const table of [IMAGES_TABLE, IMAGES_DIGEST_TABLE]) {
      expect(formatRows(format, imgRows, { table, headers: IMAGES_HEADERS })).toBe(viaEngine(format, imgRows, { table, headers: IMAGES_HEADERS }));
    }
  });

  it('leaves fields that are not strings to the engine', () => {
    expect(formatRows('{{.Ports}}', containers, psDefaults)).toBe(viaEngine('{{.Ports}}', containers, psDefaults));
    expect(formatRows('{{.Ports}}', containers, psDefaults)).toContain('[0.0.0.0:8080->80/tcp [::]:8080->80/tcp]');
  });
});

describe('formatOne', () => {
  const container = { Id: 'abc', State: { Status: 'running', Pid: 42 }, Config: { Labels: { a: '1' } } };

  it('evaluates a template on one value', () => {
    expect(formatOne('{{.State.Status}} {{.State.Pid}}', container)).toBe('running 42\n');
    expect(formatOne('{{index .Config.Labels "a"}}', container)).toBe('1\n');
  });

  it('prints JSON for "json"', () => {
    expect(formatOne('json', container)).toBe(`${JSON.stringify(container)}\n`);
  });

  it('keeps backslash sequences literal, like docker inspect', () => {
    expect(formatOne('{{.Id}}\\t', container)).toBe('abc\\t\n');
  });
});

describe('tabwrite', () => {
  it('sizes columns per block of lines that have the column', () => {
    const text = 'a\tb\tc\nlonger-cell\tx\n\nno tabs here\nq\tr\n';
    expect(tabwrite(text)).toBe(
      `${'a'.padEnd(14)}${'b'.padEnd(10)}c\n${'longer-cell'.padEnd(14)}x\n\nno tabs here\n${'q'.padEnd(10)}r\n`,
    );
  });

  it('counts runes, not UTF-16 units or bytes', () => {
    expect(tabwrite('héllo\tx\nab\ty\n', { minWidth: 0, padding: 1, padChar: '.' })).toBe('héllo.x\nab....y\n');
    // A surrogate pair is one rune: 😀😀 is two wide, as in Go (and ab beside it too).
    expect(tabwrite('😀😀\tx\nabc\ty\n', { minWidth: 0, padding: 1, padChar: '.' })).toBe('😀😀..x\nabc.y\n');
  });
});

describe('the formatter contexts\' Label method', () => {
  const row = containerRow(
    { Id: 'a'.repeat(64), Names: ['/web'], Image: 'busybox', Command: 'sh', Created: 1700000000, Labels: { 'com.docker.compose.service': 'api', tier: 'front' }, State: 'running', Status: 'Up' },
    { trunc: true, now: 1700000000000 },
  );
  const table = { table: PS_TABLE, headers: PS_HEADERS };

  it('gives a label\'s value, and "" for one the container does not have', () => {
    expect(formatRows('{{.Names}} {{.Label "com.docker.compose.service"}} [{{.Label "nope"}}]', [row], table)).toBe('web api []\n');
    expect(formatRows('{{"tier" | .Label}}', [row], table)).toBe('front\n');
  });

  it("titles a table column as the docker CLI does: the key's last dotted part, - and _ as spaces", () => {
    // docker ps --format 'table {{.Label "com.example.my-label"}}\t{{.Names}}' against berth's daemon
    expect(formatRows('table {{.Label "com.example.my-label"}}\t{{.Names}}', [row], table)).toBe('my label   NAMES\n           web\n');
    expect(formatRows('table {{.Label "com.docker.compose.service"}}', [row], table)).toBe('service\napi\n');
    expect(formatRows('table {{"tier" | .Label}}', [row], table)).toBe('tier\nfront\n');
    expect(formatRows('table {{.Label "my_own-key"}}|{{.Labels}}', [row], table)).toBe('my own key|LABELS\n|com.docker.compose.service=api,tier=front\n');
  });

  it('is not a field: JSON and the plain fields are as before', () => {
    expect(formatRows('{{json .}}', [row], table)).not.toContain('Label"');
    expect(Object.keys(row)).not.toContain('Label');
    expect(formatRows('{{.Labels}}', [row], table)).toBe('com.docker.compose.service=api,tier=front\n');
  });

  it('wants its one argument', () => {
    expect(() => formatRows('{{.Label}}', [row], table)).toThrow(/wrong number of args for Label: want 1 got 0/);
    expect(() => formatRows('{{.Label "a" "b"}}', [row], table)).toThrow(/wrong number of args for Label: want 1 got 2/);
  });
});
