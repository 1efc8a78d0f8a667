import { describe, expect, it } from 'vitest';
import {
  assertsDirectory,
  basePath,
  cleanPath,
  containerAbsPath,
  decodePathStat,
  dirPath,
  encodePathStat,
  FileMode,
  getRebaseName,
  goFileMode,
  hasModeBit,
  joinPath,
  preserveTrailingDotOrSeparator,
  rfc3339Nano,
  splitPath,
  splitPathDirEntry,
} from './copypath.js';

describe("Go's path functions", () => {
  it('cleanPath is path.Clean', () => {
    const cases: [string, string][] = [
      ['', '.'],
      ['/', '/'],
      ['//a//b/', '/a/b'],
      ['a/./b/../c', 'a/c'],
      ['/../..', '/'],
      ['../a/..', '..'],
      ['a/../..', '..'],
      ['/a/b/.', '/a/b'],
      ['.', '.'],
    ];
    for (const [i, o] of cases) expect(cleanPath(i), i).toBe(o);
  });

  it('basePath, dirPath, splitPath and joinPath are filepath.Base, Dir, Split and Join', () => {
    expect(basePath('')).toBe('.');
    expect(basePath('/')).toBe('/');
    expect(basePath('///')).toBe('/');
    expect(basePath('/etc/')).toBe('etc');
    expect(basePath('/etc/.')).toBe('.');
    expect(basePath('a')).toBe('a');
    expect(dirPath('/etc/passwd')).toBe('/etc');
    expect(dirPath('/etc/')).toBe('/etc');
    expect(dirPath('passwd')).toBe('.');
    expect(dirPath('/')).toBe('/');
    expect(splitPath('/etc/passwd')).toEqual(['/etc/', 'passwd']);
    expect(splitPath('/etc/')).toEqual(['/etc/', '']);
    expect(splitPath('file')).toEqual(['', 'file']);
    expect(joinPath('/', 'etc/../x/')).toBe('/x');
    expect(joinPath('', '')).toBe('');
    expect(joinPath('/a', '/b')).toBe('/a/b');
  });
});

describe("go-archive's copy path helpers", () => {
  it('preserveTrailingDotOrSeparator puts back / and /.', () => {
    expect(preserveTrailingDotOrSeparator('/a', '/a/')).toBe('/a/');
    expect(preserveTrailingDotOrSeparator('/a', '/a/.')).toBe('/a/.');
    expect(preserveTrailingDotOrSeparator('/', '/.')).toBe('/.');
    expect(preserveTrailingDotOrSeparator('/', '')).toBe('/.');
    expect(preserveTrailingDotOrSeparator('/a', '/a')).toBe('/a');
    expect(preserveTrailingDotOrSeparator('/', '/')).toBe('/');
  });

  it('containerAbsPath makes the request path absolute and clean, keeping its meaning', () => {
    expect(containerAbsPath('etc/passwd')).toBe('/etc/passwd');
    expect(containerAbsPath('/etc/')).toBe('/etc/');
    expect(containerAbsPath('/etc/.')).toBe('/etc/.');
    expect(containerAbsPath('/../etc/./x/..')).toBe('/etc');
    expect(containerAbsPath('/')).toBe('/');
  });

  it('splitPathDirEntry and assertsDirectory', () => {
    expect(splitPathDirEntry('/a/b')).toEqual(['/a', 'b']);
    expect(splitPathDirEntry('/a/b/')).toEqual(['/a', 'b']);
    expect(splitPathDirEntry('/a/b/.')).toEqual(['/a/b', '.']);
    expect(splitPathDirEntry('/')).toEqual(['/', '/']);
    expect(assertsDirectory('/a/')).toBe(true);
    expect(assertsDirectory('/a/.')).toBe(true);
    expect(assertsDirectory('/a')).toBe(false);
  });

  it('getRebaseName keeps the requested name when a symlink changed it', () => {
    expect(getRebaseName('/link', '/target')).toEqual(['/target', 'link']);
    expect(getRebaseName('/link/', '/target')).toEqual(['/target/', 'link']);
    expect(getRebaseName('/link/.', '/target')).toEqual(['/target/.', '']);
    expect(getRebaseName('/same', '/x/same')).toEqual(['/x/same', '']);
  });
});

describe('path stat', () => {
  it("goFileMode is Go's os.FileMode of an lstat", () => {
    expect(goFileMode(0o100644)).toBe(0o644);
    expect(goFileMode(0o040755)).toBe(FileMode.Dir + 0o755);
    expect(goFileMode(0o120777)).toBe(FileMode.Symlink + 0o777);
    expect(goFileMode(0o104755)).toBe(FileMode.Setuid + 0o755);
    expect(goFileMode(0o041777)).toBe(FileMode.Dir + FileMode.Sticky + 0o777);
    expect(goFileMode(0o020666)).toBe(FileMode.Device + FileMode.CharDevice + 0o666);
    expect(goFileMode(0o060660)).toBe(FileMode.Device + 0o660);
    expect(goFileMode(0o010644)).toBe(FileMode.NamedPipe + 0o644);
    expect(goFileMode(0o140755)).toBe(FileMode.Socket + 0o755);
    expect(FileMode.Dir).toBe(2147483648);
    expect(hasModeBit(FileMode.Dir + 0o755, FileMode.Dir)).toBe(true);
    expect(hasModeBit(FileMode.Symlink + 0o777, FileMode.Dir)).toBe(false);
    expect(hasModeBit(FileMode.Dir + FileMode.Symlink, FileMode.Symlink)).toBe(true);
  });

  it('encodes the header as base64 JSON in Go field order, and decodes it', () => {
    const s = { name: 'etc', size: 4096, mode: FileMode.Dir + 0o755, mtime: '2024-01-02T03:04:05.5Z', linkTarget: '' };
    const h = encodePathStat(s);
    expect(Buffer.from(h, 'base64').toString()).toBe('{"name":"etc","size":4096,"mode":2147484141,"mtime":"2024-01-02T03:04:05.5Z","linkTarget":""}');
    expect(decodePathStat(h)).toEqual(s);
    // What dockerd sends decodes too.
    const docker = Buffer.from('{"name":"passwd","size":1230,"mode":420,"mtime":"2023-06-01T10:00:00Z","linkTarget":""}').toString('base64');
    expect(decodePathStat(docker)).toMatchObject({ name: 'passwd', size: 1230, mode: 0o644 });
    expect(() => decodePathStat('!!!')).toThrow('unable to decode container path stat header');
  });

  it('rfc3339Nano trims trailing zeros like Go', () => {
    expect(rfc3339Nano(0n)).toBe('1970-01-01T00:00:00Z');
    expect(rfc3339Nano(1_700_000_000_123_456_789n)).toBe('2023-11-14T22:13:20.123456789Z');
    expect(rfc3339Nano(1_700_000_000_500_000_000n)).toBe('2023-11-14T22:13:20.5Z');
  });
});
