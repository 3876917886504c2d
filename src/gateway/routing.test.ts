import { describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../config/index.js';
import { isVertexBaseUrl } from '../providers/index.js';
import { ModelRouter, vertexRouter } from './routing.js';

const p = (name: string, baseUrl: string, models: string[] = [], type: ProviderConfig['type'] = 'anthropic') =>
  ({ name, type, baseUrl, models, headers: {}, timeout: '1s' }) as ProviderConfig;

describe('Vertex AI providers', () => {
  it('tells a Vertex AI host by its name', () => {
    for (const u of [
      'https://us-east5-aiplatform.googleapis.com',
      'https://europe-west1-aiplatform.googleapis.com/',
      'https://aiplatform.googleapis.com',
      'https://aiplatform.us.rep.googleapis.com',
    ])
      expect(isVertexBaseUrl(u), u).toBe(true);
    for (const u of [
      'https://api.anthropic.com/v1',
      'https://generativelanguage.googleapis.com/v1beta',
      'https://aiplatform.googleapis.com.example.net',
      'http://127.0.0.1:9000',
      'not a url',
    ])
      expect(isVertexBaseUrl(u), u).toBe(false);
  });

  it('sends a Vertex path to the provider on a Vertex host first, other calls by models as before', () => {
    // both serve claude-*: the Anthropic API's is listed first, so /v1/messages goes there
    const providers = [
      p('anthropic', 'https://api.anthropic.com/v1', ['claude-*']),
      p('vertex', 'https://us-east5-aiplatform.googleapis.com', ['claude-*']),
      p('gemini-vertex', 'https://us-central1-aiplatform.googleapis.com', [], 'gemini'),
    ];
    const all = new ModelRouter(providers, [], ['anthropic']);
    const onVertex = vertexRouter(providers, [], ['anthropic']);
    expect(all.resolve('claude-sonnet-4-5')?.provider.name).toBe('anthropic');
    expect(onVertex.resolve('claude-sonnet-4-5@20250929')?.provider.name).toBe('vertex');
    // a Vertex provider of another format takes no Claude call
    expect(onVertex.resolve('gemini-2.5-flash')).toBeNull();
    expect(vertexRouter(providers, [], ['gemini']).resolve('gemini-2.5-flash')?.provider.name).toBe('gemini-vertex');
    // none on a Vertex host: nothing here, the format's router decides by models
    expect(vertexRouter([providers[0] as ProviderConfig], [], ['anthropic']).resolve('claude-x')).toBeNull();
    // a route to a Vertex provider is kept; one to another provider is the format's router's to follow
    const routed = vertexRouter(
      providers,
      [{ model: 'sonnet', provider: 'vertex', upstreamModel: 'claude-s@1' }],
      ['anthropic'],
    );
    expect(routed.resolve('sonnet')).toMatchObject({ upstreamModel: 'claude-s@1' });
  });
});
