import { describe, expect, it } from 'vitest';
import { referenceMatches } from './images.js';

describe('referenceMatches (docker images --filter reference=)', () => {
  it('matches the familiar name:tag or the name alone', () => {
    expect(referenceMatches('busybox', 'busybox:latest')).toBe(true);
    expect(referenceMatches('busybox:latest', 'busybox:latest')).toBe(true);
    expect(referenceMatches('busybox:1', 'busybox:latest')).toBe(false);
    expect(referenceMatches('busy', 'busybox:latest')).toBe(false);
    expect(referenceMatches('mybox', 'busybox:latest')).toBe(false);
  });

  it('globs like path.Match: * and ? stop at a slash', () => {
    expect(referenceMatches('my*', 'mybox:2')).toBe(true);
    expect(referenceMatches('*:2', 'mybox:2')).toBe(true);
    expect(referenceMatches('mybo?', 'mybox:2')).toBe(true);
    expect(referenceMatches('*', 'org/app:1')).toBe(false);
    expect(referenceMatches('*/*', 'org/app:1')).toBe(true);
    expect(referenceMatches('org?app', 'org/app:1')).toBe(false);
    expect(referenceMatches('a.c', 'abc:1')).toBe(false);
  });

  it('takes a registry port for a port, not a tag', () => {
    expect(referenceMatches('localhost:5000/app', 'localhost:5000/app:1')).toBe(true);
    expect(referenceMatches('localhost:5000/*', 'localhost:5000/app:1')).toBe(true);
    expect(referenceMatches('localhost', 'localhost:5000/app:1')).toBe(false);
  });
});
