import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBusybox, rootSkipReason, rootTestsEnabled, startDaemon, waitFor, type TestDaemon } from '../harness.js';

/**
 * docker-compose v1 (Debian's, a Python Engine API client) against berth's daemon: a network
 * per project, service names in DNS, published ports, a named volume, and `down -v`.
 */
const COMPOSE = `version: "3.8"
services:
  web:
    image: busybox
    command: sh -c 'mkdir -p /www && echo compose-web > /www/index.html && exec httpd -f -p 80 -h /www'
    ports:
      - "18091:80"
    volumes:
      - webdata:/data
  client:
    image: busybox
    command: sh -c 'until wget -qO- http://web/; do sleep 0.2; done; exec sleep 300'
    depends_on:
      - web
volumes:
  webdata:
`;

describe.skipIf(!rootTestsEnabled())(`docker-compose v1 as a client (${rootSkipReason})`, () => {
  let d: TestDaemon;
  let dir: string;
  const compose = (args: string[]) => spawnSync('docker-compose', ['-p', 'berthtest', ...args], { cwd: dir, env: d.env, encoding: 'utf8', timeout: 120_000 });

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
    dir = mkdtempSync(join(tmpdir(), 'berth-compose-'));
    writeFileSync(join(dir, 'docker-compose.yml'), COMPOSE);
  });
  afterAll(async () => {
    compose(['down', '-v']);
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings a stack up: service names resolve, ports publish, volumes are made', async () => {
    const up = compose(['up', '-d']);
    expect(up.status, up.stderr).toBe(0);
    await waitFor(() => (compose(['logs', 'client']).stdout.includes('compose-web') ? true : undefined), 'client reached web by its service name');
    expect(spawnSync('curl', ['-s', '-m', '3', 'http://127.0.0.1:18091/'], { encoding: 'utf8' }).stdout).toBe('compose-web\n');
    expect(d.docker(['network', 'ls', '--format', '{{.Name}}']).stdout).toContain('berthtest_default');
    expect(d.docker(['volume', 'ls', '--format', '{{.Name}}']).stdout).toContain('berthtest_webdata');
    const ps = compose(['ps']);
    expect(ps.stdout).toMatch(/berthtest_web_1 .* Up .*0\.0\.0\.0:18091->80\/tcp/);
  });

  it('takes it down again, network and volume included', () => {
    const down = compose(['down', '-v', '-t', '1']);
    expect(down.status, down.stderr).toBe(0);
    expect(d.docker(['ps', '-aq']).stdout).toBe('');
    expect(d.docker(['network', 'ls', '--format', '{{.Name}}']).stdout).not.toContain('berthtest_default');
    expect(d.docker(['volume', 'ls', '-q']).stdout).toBe('');
  });
});
