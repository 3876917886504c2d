// An image generation that names no model is billed by OpenAI as dall-e-2, "unless a parameter specific to gpt-image-1
// is used" (the API reference). Recorded with no model, it was unpriced and no block budget held it (R3).
import { describe, expect, it } from 'vitest';
import { defaultImageModel } from './units.js';

describe('defaultImageModel', () => {
  it("is dall-e-2 for a generation without a model, gpt-image-1 when it sets that model's own parameters", () => {
    expect(defaultImageModel('images.generations', { prompt: 'a fox' })).toBe('dall-e-2');
    expect(defaultImageModel('images.generations', { prompt: 'a fox', model: '', size: '256x256' })).toBe('dall-e-2');
    expect(defaultImageModel('images.generations', { prompt: 'a fox', quality: 'standard' })).toBe('dall-e-2');
    expect(defaultImageModel('images.generations', { prompt: 'a fox', quality: 'auto' })).toBe('dall-e-2');
    for (const extra of [
      { background: 'transparent' },
      { output_format: 'webp' },
      { quality: 'high' },
      { moderation: 'low' },
    ])
      expect(defaultImageModel('images.generations', { prompt: 'a fox', ...extra })).toBe('gpt-image-1');
  });

  it('is null when the request names its model, or for other calls', () => {
    expect(defaultImageModel('images.generations', { prompt: 'a fox', model: 'dall-e-3' })).toBeNull();
    expect(defaultImageModel('images.edits', { prompt: 'a fox' })).toBeNull();
    expect(defaultImageModel('chat.completions', {})).toBeNull();
  });
});
