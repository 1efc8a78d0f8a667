import { describe, expect, it } from 'vitest';
import { bodyFraming, type ResponseHead } from './http1.js';

const head = (statusCode: number, headers: ResponseHead['headers'] = {}): ResponseHead => ({ statusCode, statusMessage: '', headers });

describe('bodyFraming', () => {
  it.each([
    ['HEAD', head(200, { 'content-length': '100' }), { kind: 'none' }],
    ['GET', head(204), { kind: 'none' }],
    ['GET', head(304, { 'content-length': '5' }), { kind: 'none' }],
    ['GET', head(200, { 'content-length': '0' }), { kind: 'none' }],
    ['GET', head(200, { 'content-length': '12' }), { kind: 'length', length: 12 }],
    // Chunked wins over a length, as node:http reads it.
    ['POST', head(200, { 'transfer-encoding': 'gzip, Chunked', 'content-length': '12' }), { kind: 'chunked' }],
    ['GET', head(200), { kind: 'close' }],
  ] as const)('%s %j', (method, h, expected) => {
    expect(bodyFraming(method, h)).toEqual(expected);
  });
});
