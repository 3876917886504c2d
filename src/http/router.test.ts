import { describe, expect, it } from 'vitest';
import { LlmscopeError } from '../errors.js';
import type { Principal } from './access.js';
import { Router } from './router.js';

const ok = () => undefined;

describe('Router', () => {
  it('matches static routes before parameters and decodes parameters', () => {
    const r = new Router();
    const list = () => undefined;
    const one = () => undefined;
    const silences = () => undefined;
    r.get('/api/alerts', list).get('/api/alerts/:id', one).get('/api/alerts/silences', silences);
    expect(r.match('GET', '/api/alerts')).toMatchObject({ handler: list });
    expect(r.match('GET', '/api/alerts/silences')).toMatchObject({ handler: silences });
    expect(r.match('GET', '/api/alerts/a%2Fb%20c')).toEqual({
      handler: one,
      params: { id: 'a/b c' },
      route: { method: 'GET', path: '/api/alerts/:id' },
    });
    expect(r.match('GET', '/api/alerts/')).toMatchObject({ handler: list });
    expect(r.match('GET', '/api/nope')).toBeNull();
    expect(r.match('GET', '/api/alerts/x/y')).toBeNull();
  });

  it('scopes registrations under a prefix, sharing one table', () => {
    const api = new Router();
    const cost = api.scope('/api').scope('/cost');
    const h = () => undefined;
    cost.get('/summary', h);
    expect(api.match('GET', '/api/cost/summary')).toMatchObject({ handler: h });
    expect(cost.match('GET', '/api/cost/summary')).toMatchObject({ handler: h });
    expect(api.match('GET', '/summary')).toBeNull();
    expect(api.routes()).toEqual([{ method: 'GET', path: '/api/cost/summary', module: 'core' }]);
    expect(() => api.scope('api/')).toThrow(/starts with/);
  });

  it('answers HEAD with the GET handler and says which methods a path takes', () => {
    const r = new Router();
    const g = () => undefined;
    r.get('/api/x/:id', g).delete('/api/x/:id', ok).post('/api/y', ok);
    expect(r.match('HEAD', '/api/x/1')).toMatchObject({ handler: g });
    expect(r.match('PUT', '/api/x/1')).toBe('method');
    expect(r.allowed('/api/x/1').sort()).toEqual(['DELETE', 'GET', 'HEAD']);
    expect(r.allowed('/api/y')).toEqual(['POST']);
  });

  it('dispatch throws 405 with an Allow header, 404 for unknown paths, 400 for bad percent-encoding', async () => {
    const r = new Router();
    r.get('/api/requests/:id', ok).get('/api/requests', ok);
    const call = async (method: string, path: string) => {
      try {
        await r.dispatch({ method } as never, {} as never, new URL(path, 'http://h'));
        return null;
      } catch (err) {
        return err as LlmscopeError;
      }
    };
    const e405 = await call('POST', '/api/requests');
    expect(e405).toBeInstanceOf(LlmscopeError);
    expect(e405?.status).toBe(405);
    expect(e405?.headers).toEqual({ allow: 'GET, HEAD' });
    expect((await call('GET', '/api/unknown'))?.status).toBe(404);
    for (const bad of ['/api/requests/%zz', '/api/requests/%E0%A4%A', '/api/requests/50%'])
      expect((await call('GET', bad))?.code, bad).toBe('LLMSCOPE_ERR_INVALID_QUERY');
    expect(await call('GET', '/api/requests/abc')).toBeNull();
  });

  it('a module sub-app records its routes as the module’s, named once the module says its name', () => {
    const api = new Router();
    api.get('/api/requests', ok);
    const sub = api.module('module');
    sub.get('/api/cost/summary', ok);
    sub.named('cost');
    expect(api.routes().map((r) => `${r.module} ${r.path}`)).toEqual(['core /api/requests', 'cost /api/cost/summary']);
  });

  it('dispatch enforces the route table: role, scope rule, and unlisted routes admin-only', async () => {
    const r = new Router();
    const seen: (Principal | undefined)[] = [];
    const h = ({ principal }: { principal?: Principal }) => void seen.push(principal);
    r.get('/api/requests', h).post('/api/feedback', h).get('/api/gpu', h).get('/api/cost/prices', h);
    r.post('/api/not-in-the-table', h);
    const p = (role: Principal['role'], teams?: string[]): Principal => ({
      kind: 'bearer',
      name: `t-${role}`,
      role,
      scope: teams ? { teams } : null,
    });
    const status = async (method: string, path: string, who: Principal) => {
      try {
        await r.dispatch({ method } as never, {} as never, new URL(path, 'http://h'), who);
        return 200;
      } catch (err) {
        return (err as LlmscopeError).status;
      }
    };
    expect(await status('GET', '/api/requests', p('viewer'))).toBe(200);
    expect(seen.at(-1)?.name).toBe('t-viewer');
    expect(await status('HEAD', '/api/requests', p('viewer', ['a']))).toBe(200);
    expect(await status('POST', '/api/feedback', p('viewer'))).toBe(403);
    expect(await status('POST', '/api/feedback', p('operator'))).toBe(200);
    // GPU figures are the fleet's, not a team's: refused to a scoped principal, whatever its role.
    expect(await status('GET', '/api/gpu', p('operator', ['a']))).toBe(403);
    expect(await status('GET', '/api/gpu', p('viewer'))).toBe(200);
    expect(await status('GET', '/api/cost/prices', p('viewer', ['a']))).toBe(200);
    expect(await status('POST', '/api/not-in-the-table', p('operator'))).toBe(403);
    expect(await status('POST', '/api/not-in-the-table', p('admin'))).toBe(200);
    const e = await r
      .dispatch({ method: 'POST' } as never, {} as never, new URL('/api/feedback', 'http://h'), p('viewer'))
      .catch((err: LlmscopeError) => err);
    expect(e).toMatchObject({ code: 'LLMSCOPE_ERR_FORBIDDEN' });
    expect((e as LlmscopeError).message).toMatch(/needs the operator role; "t-viewer" is a viewer/);
  });
});
