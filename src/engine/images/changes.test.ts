import { describe, expect, it } from 'vitest';
import { applyChanges } from './changes.js';

describe('applyChanges', () => {
  it('applies CMD, ENV, EXPOSE, LABEL and WORKDIR like Dockerfile instructions', () => {
    const c = applyChanges({ Env: ['PATH=/bin'] }, [
      'CMD ["sh"]',
      'ENV PATH=/usr/bin:/bin FOO="a b"',
      'EXPOSE 80 53/udp',
      'LABEL a=b',
      'WORKDIR /app',
      'ENTRYPOINT echo hi',
      'ENV LEGACY some value',
    ]);
    expect(c).toEqual({
      Cmd: ['sh'],
      Env: ['PATH=/usr/bin:/bin', 'FOO=a b', 'LEGACY=some value'],
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Labels: { a: 'b' },
      WorkingDir: '/app',
      Entrypoint: ['/bin/sh', '-c', 'echo hi'],
    });
  });
  it('rejects unknown instructions with their name', () => {
    expect(() => applyChanges({}, ['RUN true'])).toThrow('RUN is not a valid change command');
  });
});
