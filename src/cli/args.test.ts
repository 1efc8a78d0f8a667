import { describe, expect, it } from 'vitest';
import { parseArgs, renderHelp, type FlagDef } from './args.js';

const defs: FlagDef[] = [
  { long: 'detach', short: 'd', kind: 'bool', help: '' },
  { long: 'interactive', short: 'i', kind: 'bool', help: '' },
  { long: 'tty', short: 't', kind: 'bool', help: '' },
  { long: 'env', short: 'e', kind: 'list', help: '' },
  { long: 'name', kind: 'string', help: '' },
  { long: 'last', short: 'n', kind: 'int', default: -1, help: '' },
  { long: 'sig-proxy', kind: 'bool', default: true, help: '' },
];

describe('parseArgs (pflag semantics)', () => {
  it('handles long, short, grouped and attached values', () => {
    const { flags, args } = parseArgs(['-it', '--name', 'web', '-eA=1', '-e', 'B=2', '--env=C=3', '-e=D', 'img', 'x'], defs);
    expect(flags.bool('interactive')).toBe(true);
    expect(flags.bool('tty')).toBe(true);
    expect(flags.bool('detach')).toBe(false);
    expect(flags.str('name')).toBe('web');
    expect(flags.list('env')).toEqual(['A=1', 'B=2', 'C=3', 'D']);
    expect(args).toEqual(['img', 'x']);
  });

  it('lets a grouped short flag take the rest as its value', () => {
    const { flags } = parseArgs(['-ite', 'X=1'], defs);
    expect(flags.list('env')).toEqual(['X=1']);
    const { flags: f2 } = parseArgs(['-diteFOO=bar'], defs);
    expect(f2.list('env')).toEqual(['FOO=bar']);
    expect(f2.bool('detach')).toBe(true);
  });

  it('supports --bool=false, defaults and changed()', () => {
    const { flags } = parseArgs(['--sig-proxy=false', '-n', '3'], defs);
    expect(flags.bool('sig-proxy')).toBe(false);
    expect(flags.changed('sig-proxy')).toBe(true);
    expect(flags.int('last')).toBe(3);
    const { flags: f2 } = parseArgs([], defs);
    expect(f2.bool('sig-proxy')).toBe(true);
    expect(f2.int('last')).toBe(-1);
    expect(f2.changed('last')).toBe(false);
  });

  it('consumes the next argument as a value even if it starts with a dash', () => {
    const { flags } = parseArgs(['--name', '-x'], defs);
    expect(flags.str('name')).toBe('-x');
  });

  it('stops at the first positional when not interspersed', () => {
    const { flags, args } = parseArgs(['-d', 'busybox', 'ls', '-l', '--name', 'x'], defs, { interspersed: false });
    expect(flags.bool('detach')).toBe(true);
    expect(flags.str('name')).toBeUndefined();
    expect(args).toEqual(['busybox', 'ls', '-l', '--name', 'x']);
  });

  it('allows flags after positionals when interspersed', () => {
    const { flags, args } = parseArgs(['a', '-d', 'b'], defs);
    expect(flags.bool('detach')).toBe(true);
    expect(args).toEqual(['a', 'b']);
  });

  it('treats -- and - like pflag', () => {
    expect(parseArgs(['--', '-d'], defs).args).toEqual(['-d']);
    expect(parseArgs(['-'], defs).args).toEqual(['-']);
  });

  it('reports docker-style errors', () => {
    expect(() => parseArgs(['--nope'], defs)).toThrow('unknown flag: --nope');
    expect(() => parseArgs(['-x'], defs)).toThrow("unknown shorthand flag: 'x' in -x");
    expect(() => parseArgs(['--name'], defs)).toThrow('flag needs an argument: --name');
    expect(() => parseArgs(['-e'], defs)).toThrow("flag needs an argument: 'e' in -e");
    expect(() => parseArgs(['-n', 'abc'], defs)).toThrow('invalid argument "abc" for "-n, --last" flag: strconv.ParseInt: parsing "abc": invalid syntax');
    expect(() => parseArgs(['--tty=maybe'], defs)).toThrow('strconv.ParseBool');
  });

  it('recognises --help and -h unless -h is a real flag', () => {
    expect(parseArgs(['--help'], defs).help).toBe(true);
    expect(parseArgs(['-h'], defs).help).toBe(true);
    const withH: FlagDef[] = [{ long: 'hostname', short: 'h', kind: 'string', help: '' }];
    const r = parseArgs(['-h', 'box'], withH);
    expect(r.help).toBe(false);
    expect(r.flags.str('hostname')).toBe('box');
  });

  it('renders help with types and defaults', () => {
    const text = renderHelp('berth x [OPTIONS]', 'Does x', defs);
    expect(text).toContain('Usage:  berth x [OPTIONS]');
    expect(text).toContain('-e, --env list');
    expect(text).toContain('--sig-proxy');
    expect(text).toContain('(default true)');
    expect(text).toContain('(default -1)');
  });
});
