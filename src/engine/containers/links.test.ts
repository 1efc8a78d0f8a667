import { describe, expect, it } from 'vitest';
import { linkEnv } from './service.js';
import { buildSpec } from './spec.js';
import { emptyState, type ContainerRecord } from './types.js';

describe('--link variables', () => {
  it("are Docker's: the name, each exposed port (the lowest first), the linked container's environment but HOME and PATH", () => {
    const other = { config: { ExposedPorts: { '6379/tcp': {}, '53/udp': {}, '80/tcp': {} }, Env: ['PATH=/bin', 'HOME=/root', 'SECRET=a=b', 'EMPTY='] } };
    expect(linkEnv('my-db', '/web/my-db', '10.0.0.5', other)).toEqual([
      'MY_DB_NAME=/web/my-db',
      'MY_DB_PORT=udp://10.0.0.5:53',
      'MY_DB_PORT_53_UDP=udp://10.0.0.5:53', 'MY_DB_PORT_53_UDP_ADDR=10.0.0.5', 'MY_DB_PORT_53_UDP_PORT=53', 'MY_DB_PORT_53_UDP_PROTO=udp',
      'MY_DB_PORT_80_TCP=tcp://10.0.0.5:80', 'MY_DB_PORT_80_TCP_ADDR=10.0.0.5', 'MY_DB_PORT_80_TCP_PORT=80', 'MY_DB_PORT_80_TCP_PROTO=tcp',
      'MY_DB_PORT_6379_TCP=tcp://10.0.0.5:6379', 'MY_DB_PORT_6379_TCP_ADDR=10.0.0.5', 'MY_DB_PORT_6379_TCP_PORT=6379', 'MY_DB_PORT_6379_TCP_PROTO=tcp',
      'MY_DB_ENV_SECRET=a=b', 'MY_DB_ENV_EMPTY=',
    ]);
    expect(linkEnv('db', '/w/db', '10.0.0.5', { config: {} })).toEqual(['DB_NAME=/w/db']);
  });

  it("come before the container's own environment, which wins", () => {
    const rec = { id: 'c'.repeat(64), name: '/c', path: 'sh', args: [], config: { Hostname: 'c', Env: ['DB_NAME=mine', 'A=1'] }, hostConfig: {}, state: emptyState() } as unknown as ContainerRecord;
    const s = buildSpec({ record: rec, rootfs: '/r', user: { uid: 0, gid: 0, additionalGids: [] }, extraMounts: [], cgroupParent: '/berth', linkEnv: ['DB_NAME=/c/db', 'DB_PORT=tcp://1.2.3.4:1'] });
    expect(s.process.env.filter((e) => e.startsWith('DB_') || e.startsWith('A='))).toEqual(['DB_PORT=tcp://1.2.3.4:1', 'DB_NAME=mine', 'A=1']);
  });
});
