import { describe, expect, it } from 'vitest';
import { parseJsonText } from './json-text.js';

describe('parseJsonText', () => {
  it('parses JSON', () => {
    expect(parseJsonText('{"a": [1, 2]}')).toEqual({ a: [1, 2] });
  });

  it('names the line and column of a syntax error', () => {
    expect(() => parseJsonText('{\n  "a": 1,\n  "b": 2,\n}\n')).toThrow(/^line 4, column 1: Expected double-quoted property name$/);
    expect(() => parseJsonText('{\n "a": 1 "b"}')).toThrow(/^line 2, column 9: Expected ',' or '}' after property value$/);
  });

  it("keeps V8's message when it names no position", () => {
    expect(() => parseJsonText('{"a": tru}')).toThrow(/^Unexpected token/);
  });

  it('says where the text ends when it ends too soon', () => {
    expect(() => parseJsonText('{\n  "a": [1,\n')).toThrow(/^line 3, column 1: /);
  });
});
