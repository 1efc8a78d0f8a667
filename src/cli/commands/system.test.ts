import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../format/index.js';
import { eventView, versionView } from './system.js';

const message = {
  Type: 'container',
  Action: 'die',
  Actor: { ID: 'cd46630e62a6', Attributes: { name: 'jolly_curie', exitCode: '0' } },
  scope: 'local',
  time: 1795510724,
  timeNano: 1795510724891000000,
  status: 'die',
  id: 'cd46630e62a6',
  from: 'busybox',
};

describe('events --format', () => {
  it("reads the message's Go fields, as docker's templates do", () => {
    const t = compileTemplate('{{.Time}}|{{.TimeNano}}|{{.ID}}|{{.Status}}|{{.From}}|{{.Scope}}|{{.Type}} {{.Action}} {{.Actor.Attributes.name}}');
    expect(t(eventView(message))).toBe('1795510724|1795510724891000000|cd46630e62a6|die|busybox|local|container die jolly_curie');
  });

  it('prints the JSON as it came, without the Go names', () => {
    expect(JSON.parse(compileTemplate('{{json .}}')(eventView(message)))).toEqual(message);
  });

  it("gives the struct's zero values for fields a message left out (a network event has no status)", () => {
    const t = compileTemplate('[{{.Status}}][{{.From}}][{{.Actor.ID}}]');
    expect(t(eventView({ Type: 'network', Action: 'connect', Actor: { ID: 'n1', Attributes: {} } }))).toBe('[][][n1]');
  });

  it('names a field the struct lacks', () => {
    expect(() => compileTemplate('{{.Nope}}')(eventView(message))).toThrow(/can't evaluate field Nope in type events.Message/);
  });
});

describe('version --format', () => {
  const server = {
    Version: '0.1.0',
    ApiVersion: '1.44',
    MinAPIVersion: '1.24',
    Os: 'linux',
    Components: [{ Name: 'Engine', Version: '0.1.0', Details: { Os: 'linux', ApiVersion: '1.44', Arch: 'amd64', MinAPIVersion: '1.24' } }],
  };

  it('reads the API version by its Go name, APIVersion, for the server and the client', () => {
    const t = compileTemplate('{{.Server.APIVersion}} {{.Server.ApiVersion}} {{.Client.APIVersion}}');
    expect(t(versionView({ ApiVersion: '1.44' }, server))).toBe('1.44 1.44 1.44');
  });

  it("prints a component's Details with sorted keys (a Go map) and no Go names in json", () => {
    expect(compileTemplate('{{json .Server.Components}}')(versionView({ ApiVersion: '1.44' }, server))).toBe(
      '[{"Name":"Engine","Version":"0.1.0","Details":{"ApiVersion":"1.44","Arch":"amd64","MinAPIVersion":"1.24","Os":"linux"}}]',
    );
    expect(compileTemplate('{{json .Server}}')(versionView({ ApiVersion: '1.44' }, server))).not.toContain('"APIVersion"');
  });

  it("gives the client's fields when the daemon did not answer", () => {
    expect(compileTemplate('{{.Client.APIVersion}}')(versionView({ ApiVersion: '1.44' }, undefined))).toBe('1.44');
  });
});
