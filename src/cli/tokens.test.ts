import { describe, expect, it } from 'vitest';
import { TokenTable } from '../http/index.js';
import { createToken } from './tokens.js';

describe('tokens create', () => {
  it('makes a random token whose config entry holds only its hash, and the table finds it by that hash', () => {
    const a = createToken({ name: 'team-red', role: 'viewer', teams: ['red'] });
    const b = createToken({ name: 'team-red', role: 'viewer', teams: ['red'] });
    expect(a.token).toMatch(/^lst_[\w-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(JSON.stringify(a.entry)).not.toContain(a.token);
    expect(a.entry).toMatchObject({ name: 'team-red', role: 'viewer', teams: ['red'] });
    const table = new TokenTable([a.entry as never]);
    expect(table.find(a.token)?.name).toBe('team-red');
    expect(table.find(b.token)).toBeNull();
  });

  it('refuses what the config would refuse, naming the field', () => {
    expect(() => createToken({ name: 'x', role: 'superuser' })).toThrow(/^--role: /);
    expect(() => createToken({ name: 'Bad Name', role: 'viewer' })).toThrow(/^--name: /);
    expect(() => createToken({ name: 'admin', role: 'viewer' })).toThrow(/"admin" is the name/);
    expect(() => createToken({ name: 'boss', role: 'admin', teams: ['red'] })).toThrow(/an admin sees every team/);
  });
});
