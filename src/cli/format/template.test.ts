import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../../core/errors.js';
import { compileTemplate } from './index.js';

const render = (template: string, data: unknown): string => compileTemplate(template)(data);

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const ps = {
  ID: '3f4e5d6c7b8a',
  Names: 'web',
  Name: 'web',
  State: { Status: 'running', Running: true },
  Args: ['-g', 'daemon off;'],
  RepoDigests: ['nginx@sha256:abc', 'nginx@sha256:def'],
  Mounts: [{ Source: '/data' }, { Source: '/logs' }],
  Config: { Labels: { 'com.example': 'yes', 'org.other': 'no' } },
  Size: 1000000,
};

describe('compileTemplate', () => {
  it.each`
    template                                                                      | data                                    | expected
    ${'{{.Names}}'}                                                               | ${ps}                                   | ${'web'}
    ${'{{.State.Status}}'}                                                        | ${ps}                                   | ${'running'}
    ${'{{.A.B.C}}'}                                                               | ${{ A: { B: { C: 'deep' } } }}          | ${'deep'}
    ${'{{.Missing}}'}                                                             | ${ps}                                   | ${'<no value>'}
    ${'{{.Missing.Deeper}}'}                                                      | ${ps}                                   | ${'<no value>'}
    ${'{{.Nil}}'}                                                                 | ${{ Nil: null }}                        | ${'<no value>'}
    ${'{{json .}}'}                                                               | ${{ b: 'x', a: [1, null] }}             | ${'{"b":"x","a":[1,null]}'}
    ${'{{json .Config.Labels}}'}                                                  | ${{ Config: { Labels: { k: '<&>' } } }} | ${'{"k":"<&>"}'}
    ${'{{json .Missing}}'}                                                        | ${{}}                                   | ${'null'}
    ${'{{index .RepoDigests 0}}'}                                                 | ${ps}                                   | ${'nginx@sha256:abc'}
    ${'{{index .Config.Labels "com.example"}}'}                                   | ${ps}                                   | ${'yes'}
    ${'{{index . "M" "a" 1}}'}                                                    | ${{ M: { a: [1, 2] } }}                 | ${'2'}
    ${'{{index .Config.Labels "absent"}}'}                                        | ${ps}                                   | ${'<no value>'}
    ${'{{range .Mounts}}{{.Source}} {{end}}'}                                     | ${ps}                                   | ${'/data /logs '}
    ${'{{range $i, $e := .Args}}{{$i}}={{$e}};{{end}}'}                           | ${ps}                                   | ${'0=-g;1=daemon off;;'}
    ${'{{range $k, $v := .M}}{{$k}}:{{$v}} {{end}}'}                              | ${{ M: { b: 2, a: 1, c: 3 } }}          | ${'a:1 b:2 c:3 '}
    ${'{{range $e := .L}}<{{$e}}>{{end}}'}                                        | ${{ L: ['x', 'y'] }}                    | ${'<x><y>'}
    ${'{{range .L}}x{{else}}none{{end}}'}                                         | ${{ L: [] }}                            | ${'none'}
    ${'{{range .Missing}}x{{else}}none{{end}}'}                                   | ${{}}                                   | ${'none'}
    ${'{{range 3}}{{.}}{{end}}'}                                                  | ${{}}                                   | ${'012'}
    ${'{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}'} | ${{ L: [1, 2, 3, 4, 5] }} | ${'13'}
    ${'{{range .Mounts}}{{$.Name}}:{{.Source}} {{end}}'}                          | ${ps}                                   | ${'web:/data web:/logs '}
    ${'{{join .Args ","}}'}                                                       | ${ps}                                   | ${'-g,daemon off;'}
    ${'{{printf "%-10s|" .Name}}'}                                                | ${ps}                                   | ${'web       |'}
    ${'{{printf "%5s|%d|%v|%q|%t|%x|%X" "ab" 42 .L "hi" true 255 "hi"}}'}        | ${{ L: [1, 'a'] }}                      | ${'   ab|42|[1 a]|"hi"|true|ff|6869'}
    ${'{{printf "%05.1f|%e|%g|%03d|%+d" 3.14159 1234.5 0.000012 7 5}}'}           | ${{}}                                   | ${'003.1|1.234500e+03|1.2e-05|007|+5'}
    ${'{{printf "%d %s" 1}}'}                                                     | ${{}}                                   | ${'1 %!s(MISSING)'}
    ${'{{printf "%d" "x"}}|{{printf "%s" 5}}|{{printf "x" 1}}'}                   | ${{}}                                   | ${'%!d(string=x)|%!s(int=5)|x%!(EXTRA int=1)'}
    ${'{{printf "%q %.2s %c %%" .L "abc" 65}}'}                                   | ${{ L: ['a', 'b'] }}                    | ${'["a" "b"] ab A %'}
    ${'{{if eq .State.Status "running"}}up{{else}}down{{end}}'}                   | ${ps}                                   | ${'up'}
    ${'{{if eq .State "running"}}up{{else}}down{{end}}'}                          | ${{ State: 'exited' }}                  | ${'down'}
    ${'{{if .A}}a{{else if .B}}b{{else}}c{{end}}'}                                | ${{ B: 1 }}                             | ${'b'}
    ${'{{if .A}}a{{else if .B}}b{{else}}c{{end}}'}                                | ${{ A: '', B: 0 }}                      | ${'c'}
    ${'{{with .Net}}{{.IP}}{{else}}none{{end}}'}                                  | ${{ Net: { IP: '10.0.0.2' } }}          | ${'10.0.0.2'}
    ${'{{with .Net}}{{.IP}}{{else with .Alt}}alt {{.}}{{else}}none{{end}}'}       | ${{ Net: {}, Alt: 'x' }}                | ${'alt x'}
    ${'{{with $x := .A}}{{$x}}{{end}}'}                                           | ${{ A: 'v' }}                           | ${'v'}
    ${'a  {{- .X -}}  b'}                                                         | ${{ X: 1 }}                             | ${'a1b'}
    ${'a\n{{- .X}}\n{{.X -}}\nb'}                                                 | ${{ X: 1 }}                             | ${'a1\n1b'}
    ${'x{{/* a comment */}}y'}                                                    | ${{}}                                   | ${'xy'}
    ${'x {{- /* trimmed */ -}} y'}                                                | ${{}}                                   | ${'xy'}
    ${'{{$x := .Name}}{{$x}}/{{$.Name}}'}                                         | ${ps}                                   | ${'web/web'}
    ${'{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}'}                            | ${{}}                                   | ${'2'}
    ${'{{.Name | upper}}|{{.Name | printf "%s!"}}|{{"a" | printf "%s%s" "b"}}'}   | ${ps}                                   | ${'WEB|web!|ba'}
    ${'{{len (split .S ",")}}'}                                                   | ${{ S: 'a,b,c' }}                       | ${'3'}
    ${'{{(index .L 0).Name}}'}                                                    | ${{ L: [{ Name: 'first' }] }}           | ${'first'}
    ${'{{"a\\tb\\u00e9\\x41"}}|{{`raw\\t`}}'}                                     | ${{}}                                   | ${'a\tbéA|raw\\t'}
    ${"{{1.5}} {{-3}} {{0x10}} {{1_000}} {{'a'}} {{true}} {{print nil}}"}         | ${{}}                                   | ${'1.5 -3 16 1000 97 true <nil>'}
    ${'{{.}}'}                                                                    | ${{ b: [1, 'x', null], a: true }}       | ${'map[a:true b:[1 x <nil>]]'}
    ${'{{.F}} {{.G}} {{.H}} {{.Size}}'}                                           | ${{ F: 1.5, G: 0.00001, H: 1234567.5, Size: 1000000 }} | ${'1.5 1e-05 1.2345675e+06 1000000'}
    ${'{{if .E}}t{{else}}f{{end}}{{if .Z}}t{{else}}f{{end}}{{if .L}}t{{else}}f{{end}}{{if .M}}t{{else}}f{{end}}{{if .N}}t{{else}}f{{end}}'} | ${{ E: '', Z: 0, L: [], M: {}, N: null }} | ${'fffff'}
    ${'{{and .A .B}}|{{and 1 "x"}}|{{or .A .B}}|{{or .B .C}}|{{not .A}}'}         | ${{ A: 1, B: 0, C: 'c' }}               | ${'0|x|1|c|false'}
    ${'{{or .A (index .L 5)}}|{{and .B (index .L 5)}}'}                           | ${{ A: 'short', B: 0, L: [] }}          | ${'short|0'}
    ${'{{len .L}} {{len .M}} {{len "héllo"}}'}                                    | ${{ L: [1, 2, 3], M: { a: 1 } }}        | ${'3 1 6'}
    ${'{{slice .S 1 3}} {{slice .L 1}} {{slice .L}}'}                             | ${{ S: 'abcd', L: ['a', 'b', 'c'] }}    | ${'bc [b c] [a b c]'}
    ${'{{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}} {{ne .A "x"}} {{eq .A "z" "y"}}'} | ${{ A: 'y' }}                     | ${'true true true false true true'}
    ${'{{eq .Missing nil}} {{eq .A nil}}'}                                        | ${{ A: 1 }}                             | ${'true false'}
    ${'{{print 1 2 "a" 3 "b"}}|{{println "a" 1}}|'}                               | ${{}}                                   | ${'1 2a3b|a 1\n|'}
    ${'{{title "hello wide-world"}} {{lower "ABC"}} {{upper "abc"}}'}             | ${{}}                                   | ${'Hello Wide-World abc ABC'}
    ${'{{truncate .ID 4}}|{{truncate "ab" 5}}|{{pad .Name 1 2}}|{{pad "" 1 1}}'}  | ${ps}                                   | ${'3f4e|ab| web  |'}
    ${'{{split "a:b" ":"}} {{split "ab" ""}}'}                                    | ${{}}                                   | ${'[a b] [a b]'}
    ${'{{html "<a href=\'x\'>"}} {{urlquery "a b&c"}} {{js "it\'s"}}'}            | ${{}}                                   | ${"&lt;a href=&#39;x&#39;&gt; a+b%26c it\\'s"}
    ${'{{range .Names}}{{.}}{{end}}'}                                             | ${{ Names: { z: 1, a: 2 } }}            | ${'21'}
    ${'line1\n{{.A}}\nline3'}                                                     | ${{ A: 'x' }}                           | ${'line1\nx\nline3'}
  `('$template', ({ template, data, expected }: { template: string; data: unknown; expected: string }) => {
    expect(render(template, data)).toBe(expected);
  });

  it.each`
    template                   | data                  | message
    ${'{{foo}}'}               | ${{}}                 | ${'template: :1: function "foo" not defined'}
    ${'a\n\n{{foo .A}}'}       | ${{}}                 | ${'template: :3: function "foo" not defined'}
    ${'{{.A'}                  | ${{}}                 | ${'template: :1: unclosed action'}
    ${'{{if .A}}x'}            | ${{}}                 | ${'template: :1: unexpected EOF'}
    ${'{{end}}'}               | ${{}}                 | ${'template: :1: unexpected {{end}}'}
    ${'{{else}}'}              | ${{}}                 | ${'template: :1: unexpected {{else}}'}
    ${'{{$x}}'}                | ${{}}                 | ${'template: :1: undefined variable "$x"'}
    ${'{{"abc}}'}              | ${{}}                 | ${'template: :1: unterminated quoted string'}
    ${'{{/* x }}'}             | ${{}}                 | ${'template: :1: unclosed comment'}
    ${'{{break}}'}             | ${{}}                 | ${'template: :1: {{break}} outside {{range}}'}
    ${'{{}}'}                  | ${{}}                 | ${'template: :1: missing value for command'}
    ${'{{.A | "x"}}'}          | ${{}}                 | ${'template: :1: non executable command in pipeline stage 2'}
    ${'{{(.A}}'}               | ${{}}                 | ${'template: :1: unclosed left paren'}
    ${'{{.A)}}'}               | ${{}}                 | ${'template: :1: unexpected right paren'}
    ${'{{3x}}'}                | ${{}}                 | ${'template: :1: bad number syntax: "3x"'}
    ${'{{"\\q"}}'}             | ${{}}                 | ${'template: :1: invalid syntax'}
    ${'{{.Name.First}}'}       | ${{ Name: 'web' }}    | ${'template: :1:2: executing "" at <.Name.First>: can\'t evaluate field First in type string'}
    ${'x\n  {{.B.C}}'}         | ${{ B: 's' }}         | ${'template: :2:4: executing "" at <.B.C>: can\'t evaluate field C in type string'}
    ${'{{.A.B}}'}              | ${{ A: null }}        | ${'template: :1:2: executing "" at <.A.B>: nil pointer evaluating interface {}.B'}
    ${'{{index .L 5}}'}        | ${{ L: [1] }}         | ${'template: :1:2: executing "" at <index .L 5>: error calling index: index out of range: 5'}
    ${'{{len 3}}'}             | ${{}}                 | ${'template: :1:2: executing "" at <len 3>: error calling len: len of type int'}
    ${'{{len}}'}               | ${{}}                 | ${'template: :1:2: executing "" at <len>: wrong number of args for len: want 1 got 0'}
    ${'{{if eq .A 1}}{{end}}'} | ${{ A: 'x' }}         | ${'template: :1:5: executing "" at <eq .A 1>: error calling eq: incompatible types for comparison'}
    ${'{{lt true false}}'}     | ${{}}                 | ${'template: :1:2: executing "" at <lt true false>: error calling lt: invalid type for comparison'}
    ${'{{upper 3}}'}           | ${{}}                 | ${'template: :1:2: executing "" at <upper 3>: wrong type for value; expected string; got int'}
    ${'{{range .S}}{{end}}'}   | ${{ S: 'abc' }}       | ${'template: :1:8: executing "" at <{{range .S}}{{end}}>: range can\'t iterate over abc'}
    ${'{{.A 1}}'}              | ${{ A: 1 }}           | ${'template: :1:2: executing "" at <.A>: A is not a method but has arguments'}
    ${'{{"a" "b"}}'}           | ${{}}                 | ${'template: :1:2: executing "" at <"a">: can\'t give argument to non-function "a"'}
    ${'{{nil}}'}               | ${{}}                 | ${'template: :1:2: executing "" at <nil>: nil is not a command'}
  `('rejects $template', ({ template, data, message }: { template: string; data: unknown; message: string }) => {
    const err = errorOf(() => render(template, data));
    expect(err).toBeInstanceOf(InvalidArgument);
    expect(err.message).toBe(message);
  });

  it('parses once and renders many values', () => {
    const fn = compileTemplate('{{.N}}');
    expect([1, 2, 3].map((N) => fn({ N }))).toEqual(['1', '2', '3']);
  });
});
