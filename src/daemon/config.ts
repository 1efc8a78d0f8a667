import { readFile } from 'node:fs/promises';
import { parseJsonText } from '../core/json-text.js';
import { registryConfigFromJson, REGISTRY_KEYS, type RegistryConfig } from '../engine/registry/index.js';
import { BUILTIN_SECCOMP_PROFILE, goArch, parseSeccompProfile, resolveSeccomp, type SeccompProfile } from '../engine/containers/seccomp.js';

/**
 * The daemon's configuration file (`berth daemon --config-file`, default
 * /etc/berth/daemon.json): Docker's daemon.json format. berth reads the registry keys
 * (`registry-mirrors`, `insecure-registries`, `max-concurrent-downloads`,
 * `max-concurrent-uploads`, and its own `registry-mirrors-for`) and `seccomp-profile`; other Docker keys are
 * reported as ignored rather than refused, so a daemon.json copied from Docker works.
 */
export const DEFAULT_CONFIG_FILE = '/etc/berth/daemon.json';

export interface FileConfig {
  registry: RegistryConfig;
  /** `seccomp-profile`: what `--seccomp-profile` sets (the flag wins). */
  seccompProfile?: string;
  /** Keys berth does not use (warned about at start). */
  ignored: string[];
}

export function parseDaemonJson(text: string, path: string): FileConfig {
  let json: unknown;
  try {
    json = parseJsonText(text);
  } catch (e) {
    throw new Error(`unable to configure the berth daemon with file ${path}: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`unable to configure the berth daemon with file ${path}: not a JSON object`);
  const obj = json as Record<string, unknown>;
  let registry: RegistryConfig;
  try {
    registry = registryConfigFromJson(obj);
  } catch (e) {
    throw new Error(`unable to configure the berth daemon with file ${path}: ${(e as Error).message.replace(/^daemon\.json: /, '')}`);
  }
  const seccomp = obj['seccomp-profile'];
  if (seccomp !== undefined && typeof seccomp !== 'string') throw new Error(`unable to configure the berth daemon with file ${path}: seccomp-profile must be a string`);
  const known = new Set<string>([...REGISTRY_KEYS, 'seccomp-profile']);
  return { registry, ...(seccomp ? { seccompProfile: seccomp } : {}), ignored: Object.keys(obj).filter((k) => !known.has(k)).sort() };
}

/** The daemon's default seccomp profile and the name `info` shows for it (`builtin`, `unconfined` or the file). */
export interface SeccompDefault {
  name: string;
  profile: SeccompProfile | 'unconfined';
}

/** `--seccomp-profile`: read and checked at start, so that a bad file stops the daemon, not each container. */
export async function loadSeccompDefault(value: string | undefined): Promise<SeccompDefault> {
  if (value === undefined || value === '' || value === 'builtin') return { name: 'builtin', profile: BUILTIN_SECCOMP_PROFILE };
  if (value === 'unconfined') return { name: 'unconfined', profile: 'unconfined' };
  let text: string;
  try {
    text = await readFile(value, 'utf8');
  } catch (e) {
    throw new Error(`seccomp profile ${value}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  try {
    const profile = parseSeccompProfile(text);
    resolveSeccomp(profile, { arch: goArch(process.arch), kernel: '0.0', caps: [] });
    return { name: value, profile };
  } catch (e) {
    throw new Error(`seccomp profile ${value}: ${(e as Error).message}`);
  }
}

/**
 * Reads the configuration file. A missing file is fine when it is the default one (no
 * configuration), an error when it was asked for.
 */
export async function loadDaemonConfig(path: string | undefined): Promise<FileConfig | undefined> {
  const file = path ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && path === undefined) return undefined;
    throw new Error(`unable to configure the berth daemon with file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  return parseDaemonJson(text, file);
}
