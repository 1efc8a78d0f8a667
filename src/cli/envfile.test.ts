import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kvToMap, parseKeyValueFile, readEnv, readLabels, validateEnv } from './envfile.js';

const lookup = (env: Record<string, string>) => (k: string) => env[k];

describe('env files (docker opts/file.go rules)', () => {
  it('parses KEY=VALUE lines verbatim', () => {
    const text = 'A=1\nB=two words\nC="quoted"\nD=\nE=x=y\n';
    expect(parseKeyValueFile(text, 'f', lookup({}))).toEqual(['A=1', 'B=two words', 'C="quoted"', 'D=', 'E=x=y']);
  });

  it('skips comments and blank lines and trims leading whitespace only', () => {
    const text = '# comment\n\n   \n  F=  padded  \n\t# indented comment\n';
    expect(parseKeyValueFile(text, 'f', lookup({}))).toEqual(['F=  padded  ']);
  });

  it('takes bare keys from the environment and drops unset ones', () => {
    const text = 'HOME\nMISSING\nUSER\n';
    expect(parseKeyValueFile(text, 'f', lookup({ HOME: '/root', USER: 'me' }))).toEqual(['HOME=/root', 'USER=me']);
  });

  it('drops bare keys for label files (no lookup)', () => {
    expect(parseKeyValueFile('a=b\nbare\n', 'f')).toEqual(['a=b']);
  });

  it('handles CRLF, a BOM and a missing final newline', () => {
    const buf = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('A=1\r\nB=2')]);
    expect(parseKeyValueFile(buf, 'f', lookup({}))).toEqual(['A=1', 'B=2']);
  });

  it('rejects whitespace in names and empty names', () => {
    expect(() => parseKeyValueFile('BAD KEY=1\n', 'f', lookup({}))).toThrow("f:1: poorly formatted environment: variable 'BAD KEY' contains whitespaces");
    expect(() => parseKeyValueFile('# ok\nA=1\n=value\n', 'app.env', lookup({}))).toThrow("app.env:3: poorly formatted environment: no variable name on line '=value'");
  });

  it('rejects invalid UTF-8', () => {
    expect(() => parseKeyValueFile(Buffer.from([0x41, 0x3d, 0xff, 0x0a]), 'e.env', lookup({}))).toThrow('env file e.env contains invalid utf8 bytes at line 1');
  });

  it('validates -e values like opts.ValidateEnv', () => {
    expect(validateEnv('A=1', {})).toBe('A=1');
    expect(validateEnv('HOME', { HOME: '/root' })).toBe('HOME=/root');
    expect(validateEnv('NOPE', {})).toBe('NOPE');
    expect(() => validateEnv('=x', {})).toThrow('invalid environment variable: =x');
  });

  it('reads env files before -e values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-env-'));
    const file = join(dir, 'a.env');
    writeFileSync(file, 'FROM_FILE=1\nSHARED=file\n');
    expect(readEnv([file], ['SHARED=flag', 'X'], { X: 'local' })).toEqual(['FROM_FILE=1', 'SHARED=file', 'SHARED=flag', 'X=local']);
    expect(() => readEnv([join(dir, 'missing.env')], [], {})).toThrow('no such file or directory');
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns labels into a map', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-lbl-'));
    const file = join(dir, 'l');
    writeFileSync(file, 'a=1\nb\n');
    expect(readLabels([file], ['c=3', 'd'])).toEqual({ a: '1', c: '3', d: '' });
    expect(kvToMap(['x=1=2'])).toEqual({ x: '1=2' });
    rmSync(dir, { recursive: true, force: true });
  });
});
