/**
 * JSON.parse with the place of a syntax error as a person finds it: `line 3, column 14`
 * rather than V8's `at position 57` (a file of configuration is read by line).
 */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const at = /at position (\d+)/.exec(message);
    const pos = at !== null ? Number(at[1]) : message.includes('Unexpected end of JSON input') ? text.length : undefined;
    if (pos === undefined) throw e;
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    const what = message.replace(/\s*(in JSON )?at position \d+.*$/, '').replace(/^Unexpected end of JSON input$/, 'the text ends before the JSON does');
    throw new SyntaxError(`line ${line}, column ${column}: ${what}`, { cause: e });
  }
}
