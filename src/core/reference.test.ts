import { describe, expect, it } from 'vitest';
import { familiarString, formatReference, parseReference, withDefaultTag } from './reference.js';

// input | normalised | familiar
const cases = `
busybox | docker.io/library/busybox:latest | busybox:latest
busybox:1.36 | docker.io/library/busybox:1.36 | busybox:1.36
user/app | docker.io/user/app:latest | user/app:latest
index.docker.io/library/nginx:1 | docker.io/library/nginx:1 | nginx:1
localhost:5000/app:v1 | localhost:5000/app:v1 | localhost:5000/app:v1
localhost/app | localhost/app:latest | localhost/app:latest
ghcr.io/org/sub/app:2.0 | ghcr.io/org/sub/app:2.0 | ghcr.io/org/sub/app:2.0
127.0.0.1:5000/a/b | 127.0.0.1:5000/a/b:latest | 127.0.0.1:5000/a/b:latest
debian:bookworm-slim | docker.io/library/debian:bookworm-slim | debian:bookworm-slim
a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef | docker.io/library/a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef | a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
`;

describe('parseReference', () => {
  for (const line of cases.trim().split('\n')) {
    const [input, full, familiar] = line.split('|').map((s) => s.trim()) as [string, string, string];
    it(input, () => {
      const ref = withDefaultTag(parseReference(input));
      expect(formatReference(ref)).toBe(full);
      expect(familiarString(ref)).toBe(familiar);
    });
  }

  // input | error substring
  const bad = `
 | invalid reference format
Busybox | invalid reference format: repository name (library/Busybox) must be lowercase
user/Busybox:1 | invalid reference format: repository name (user/Busybox) must be lowercase
localhost:5000/Busybox | invalid reference format: repository name (Busybox) must be lowercase
a:b:c | invalid reference format
a/../b | invalid reference format
a:-bad | invalid reference format
0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef | cannot specify 64-byte hexadecimal strings
`;
  for (const line of bad.trim().split('\n')) {
    const [input, msg] = line.split('|').map((s) => s.trim()) as [string, string];
    it(`rejects "${input}"`, () => {
      expect(() => parseReference(input)).toThrow(msg);
    });
  }
});
