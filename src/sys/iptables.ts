import { Internal } from '../core/errors.js';
import { run as defaultRun, type Runner } from './exec.js';

/**
 * berth's packet filter and NAT rules, through iptables (nf_tables or legacy backend, whichever
 * `iptables` is). berth owns a few chains of its own per daemon and rewrites them whole with
 * `iptables-restore --noflush` (declaring a user chain in restore input flushes it), so the
 * host's rules and other daemons' chains are never touched; built-in chains only get one
 * jump rule each into berth's chains.
 */

export interface Jump {
  table: 'nat' | 'filter';
  /** Built-in chain: PREROUTING, OUTPUT, POSTROUTING, FORWARD. */
  from: string;
  /** Match arguments before `-j`. */
  match: string[];
  to: string;
}

export class Iptables {
  constructor(private readonly run: Runner = defaultRun) {}

  /** Replaces the content of the chains declared in `text` (iptables-restore format). */
  async restore(text: string): Promise<void> {
    const r = await this.run('iptables-restore', ['-w', '--noflush'], { input: text, allowFailure: true });
    if (r.code !== 0) throw new Internal(`iptables-restore: ${r.stderr.trim() || `exit ${r.code}`}\n${text}`);
  }

  /** Adds the jump at the top of its built-in chain unless it is there already. */
  async ensureJump(j: Jump): Promise<void> {
    const spec = [...j.match, '-j', j.to];
    const check = await this.run('iptables', ['-w', '-t', j.table, '-C', j.from, ...spec], { allowFailure: true });
    if (check.code === 0) return;
    const r = await this.run('iptables', ['-w', '-t', j.table, '-I', j.from, '1', ...spec], { allowFailure: true });
    if (r.code !== 0) throw new Internal(`iptables -t ${j.table} -I ${j.from}: ${r.stderr.trim()}`);
  }

  /** Removes the jump (every copy of it). */
  async removeJump(j: Jump): Promise<void> {
    const spec = [...j.match, '-j', j.to];
    for (let i = 0; i < 10; i++) {
      const r = await this.run('iptables', ['-w', '-t', j.table, '-D', j.from, ...spec], { allowFailure: true });
      if (r.code !== 0) return;
    }
  }

  /** Flushes and deletes a chain of berth's (no error when it is absent). */
  async deleteChain(table: string, chain: string): Promise<void> {
    await this.run('iptables', ['-w', '-t', table, '-F', chain], { allowFailure: true });
    await this.run('iptables', ['-w', '-t', table, '-X', chain], { allowFailure: true });
  }

  /** Names of the chains of a table (leak checks, clean-up). */
  async chains(table: string): Promise<string[]> {
    const r = await this.run('iptables', ['-w', '-t', table, '-S'], { allowFailure: true });
    return r.stdout
      .split('\n')
      .filter((l) => l.startsWith('-N '))
      .map((l) => l.slice(3).trim());
  }
}
