// QA23: what only cites, or only is code, was read as citing or as stating. Attribution took a program's `items[1]`
// for source marker [1], `open('settings.json')` and `r.json()` for documents and a string literal for a quotation,
// so a faithful answer with a code sample failed (6 of 6 such answers); a marker after the sentence's end
// ("… is 120.[1] The SDK …") was checked against the next sentence. Grounding read a marker "[1]" or "[^1]" as the
// figure 1, which a passage that never states 1 "contradicts" (floor 0.963), and a footnote's definition or a
// "References:" list as claims.
import { describe, expect, it } from 'vitest';
import { SourceAttributionEvaluator } from './attribution.js';
import { GroundingEvaluator } from './grounding.js';

const CONTEXT = [
  'The Widget API is served at https://api.widget.example/v2. To list users, send GET /users with the header ' +
    'Authorization: Bearer TOKEN. The response is a JSON object with a data array; each user has an id, a name and ' +
    'an email. Requests time out after 30 seconds. The rate limit is 600 requests per minute per token.',
];
const question = 'How do I list users with the Widget API in Python?';
const attribution = new SourceAttributionEvaluator();
const grounding = new GroundingEvaluator();
const lead = 'Send GET /users with a bearer token; the users are in the data array.';

describe('citations: code cites nothing, markers are no figures (QA23)', () => {
  it('attribution finds no citation in code blocks or inline code', async () => {
    for (const response of [
      `${lead}\n\n\`\`\`python\nfirst = r.json()['data'][0]\nsecond = r.json()['data'][1]\n\`\`\``,
      `${lead}\n\n\`\`\`python\ncfg = json.load(open('settings.json'))\n\`\`\``,
      `${lead}\n\n\`\`\`python\nr = requests.get('https://api.widget.example/v2/users')\n\`\`\``,
      `${lead}\n\n\`\`\`python\nprint("Rate limit reached, waiting a minute before retrying")\n\`\`\``,
      `${lead} Read \`resp.json()['data'][1]\` for the second user, or keep the token in \`secrets.json\`.`,
      `${lead} Call resp.json() to read them.`,
    ]) {
      const r = await attribution.evaluate({ question, context: CONTEXT, response });
      expect(r.verdict, response).toBe('unknown');
    }
  });

  it('attribution still fails what the prose cites and no source has', async () => {
    for (const response of [
      `${lead} See https://api.widget.example/v2/docs/pagination-guide for the cursor.`,
      `${lead} As [the users guide](https://developer.widget.example/guides/list-users) says.`,
      `${lead} The guide says "requests are retried automatically three times".`,
      `${lead} See widget-api-reference.pdf, page 12.\n\n\`\`\`python\nprint(r.json())\n\`\`\``,
    ]) {
      const r = await attribution.evaluate({ question, context: CONTEXT, response });
      expect(r.verdict, response).toBe('fail');
    }
  });

  it('a marker after the full stop cites the sentence before it', async () => {
    const context = [
      '[1] The fetch() method of the Widget SDK 2.4 accepts a timeout parameter in seconds; the default is 30 and the maximum is 120.\n' +
        '[2] Widget SDK 2.4.1 was released on 15 March 2024 and requires Node.js 18 or later.',
    ];
    const response =
      'The default timeout of fetch() is 30 seconds and the maximum is 120.[1] SDK 2.4.1 was released on 15 March 2024.[2]';
    const r = await attribution.evaluate({ question, context, response });
    expect(r.verdict).toBe('pass');
    expect(r.claims?.map((c) => c.text)).toEqual([
      '[1] The default timeout of fetch() is 30 seconds and the maximum is 120.',
      '[2] SDK 2.4.1 was released on 15 March 2024.',
    ]);
  });

  it('grounding reads no figure in a marker and no claim in a footnote or a list of references', async () => {
    for (const response of [
      'Send GET /users with a bearer token [1]. Requests time out after 30 seconds [1].\n\nReferences:\n[1] Widget API documentation',
      'Send GET /users with a bearer token[^1].\n\n[^1]: https://api.widget.example/v2',
      'Requests time out after 30 seconds [1, 2].',
    ]) {
      const r = await grounding.evaluate({ question, context: CONTEXT, response });
      expect(r.verdict, response).toBe('pass');
    }
    const wrong = await grounding.evaluate({
      question,
      context: CONTEXT,
      response: 'Requests time out after 60 seconds [1].',
    });
    expect(wrong.verdict).toBe('fail');
    expect(wrong.explanation).toMatch(/60/);
    // The list of references ends at the next heading: what follows is checked.
    const after = await grounding.evaluate({
      question,
      context: CONTEXT,
      response:
        'Requests time out after 30 seconds [1].\n\n## References\n[1] Widget API documentation\n\n## Limits\nRequests time out after 90 seconds.',
    });
    expect(after.verdict).toBe('fail');
    expect(after.explanation).toMatch(/90/);
  });
});
