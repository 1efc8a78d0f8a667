import { InvalidArgument } from '../../core/errors.js';
import type { ImageRuntimeConfig } from '../../core/oci.js';

/**
 * Applies `--change` instructions (import, commit) to an image config, Dockerfile syntax:
 * CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
 */
export function applyChanges(config: ImageRuntimeConfig, changes: readonly string[]): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = structuredClone(config);
  for (const change of changes) {
    const m = /^\s*(\w+)\s*(.*)$/s.exec(change);
    if (!m) throw new InvalidArgument(`invalid change "${change}"`);
    const instr = (m[1] ?? '').toUpperCase();
    const rest = (m[2] ?? '').trim();
    const apply = CHANGE_RULES[instr];
    if (!apply) throw new InvalidArgument(`${instr} is not a valid change command`);
    apply(out, rest);
  }
  return out;
}

type Rule = (c: ImageRuntimeConfig, rest: string) => void;

const CHANGE_RULES: Readonly<Record<string, Rule>> = Object.freeze({
  CMD: (c, r) => {
    c.Cmd = execOrShell(r);
  },
  ENTRYPOINT: (c, r) => {
    c.Entrypoint = execOrShell(r);
  },
  ENV: (c, r) => {
    const env = c.Env ?? [];
    for (const [k, v] of keyValues(r, 'ENV')) {
      const i = env.findIndex((e) => e.split('=')[0] === k);
      if (i >= 0) env[i] = `${k}=${v}`;
      else env.push(`${k}=${v}`);
    }
    c.Env = env;
  },
  LABEL: (c, r) => {
    c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(keyValues(r, 'LABEL')) };
  },
  EXPOSE: (c, r) => {
    const ports = c.ExposedPorts ?? {};
    for (const p of r.split(/\s+/).filter(Boolean)) ports[p.includes('/') ? p : `${p}/tcp`] = {};
    c.ExposedPorts = ports;
  },
  VOLUME: (c, r) => {
    const vols = c.Volumes ?? {};
    const list = r.startsWith('[') ? (JSON.parse(r) as string[]) : r.split(/\s+/).filter(Boolean);
    for (const v of list) vols[v] = {};
    c.Volumes = vols;
  },
  USER: (c, r) => {
    c.User = r;
  },
  WORKDIR: (c, r) => {
    c.WorkingDir = r;
  },
  STOPSIGNAL: (c, r) => {
    c.StopSignal = r;
  },
  ONBUILD: (c, r) => {
    c.OnBuild = [...(c.OnBuild ?? []), r];
  },
});

function execOrShell(rest: string): string[] {
  if (rest.startsWith('[')) {
    try {
      const v = JSON.parse(rest) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch {
      // falls through to the shell form, as Docker does for malformed JSON
    }
  }
  return ['/bin/sh', '-c', rest];
}

function keyValues(rest: string, instr: string): [string, string][] {
  // Legacy form `ENV KEY value with spaces`.
  if (!rest.includes('=')) {
    const sp = rest.search(/\s/);
    if (sp < 0) throw new InvalidArgument(`${instr} needs a name and a value: "${rest}"`);
    return [[rest.slice(0, sp), rest.slice(sp).trim()]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rest)) !== null) {
    out.push([m[1] ?? '', m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? m[5] ?? '')]);
  }
  return out;
}
