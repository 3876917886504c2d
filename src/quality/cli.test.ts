import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerQualityCommand } from './cli.js';

function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

async function run(args: string[]) {
  const stdout = sink();
  const stderr = sink();
  const program = new Command('llmscope').exitOverride();
  let exitCode = 0;
  registerQualityCommand(program, { stdout, stderr, setExitCode: (c) => (exitCode = c) });
  await program.parseAsync(['node', 'llmscope', ...args]);
  return { stdout: stdout.text, stderr: stderr.text, exitCode };
}

describe('llmscope quality score', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-score-'));
  const input = join(dir, 'in.jsonl');
  writeFileSync(
    input,
    [
      JSON.stringify({
        id: 'a',
        context: 'The Eiffel Tower was completed in 1889. It is 330 metres tall.',
        response: 'It was completed in 1889 and is 330 metres tall.',
      }),
      JSON.stringify({
        id: 'b',
        context: ['The Eiffel Tower was completed in 1889.'],
        question: 'When?',
        response: 'It was completed in 1925.',
      }),
      '{ not json',
      JSON.stringify({ id: 'c', context: 'x' }),
      '',
      JSON.stringify({
        id: 'd',
        context: '[1] Water boils at 100 °C at sea level.',
        response: 'Water boils at 100 °C [1], see https://made-up.example/boil.',
      }),
    ].join('\n'),
  );

  it('adds hallucination_score, verdict and claims with evidence; reports bad lines by number', async () => {
    const output = join(dir, 'out.jsonl');
    const { stderr, exitCode } = await run(['quality', 'score', '--input', input, '--output', output]);
    // the good lines are written, and the bad ones fail the run
    expect(exitCode).toBe(1);
    expect(stderr).toContain(`${input}: 2 line(s) could not be scored`);
    const rows = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.id)).toEqual(['a', 'b', 'd']);
    expect(rows[0]).toMatchObject({ verdict: 'pass' });
    expect(rows[0].hallucination_score).toBeLessThan(0.4);
    expect(rows[1]).toMatchObject({ verdict: 'fail' });
    expect(rows[1].claims[0]).toMatchObject({ status: 'contradicted' });
    expect(rows[1].claims[0].evidence[0].text).toContain('1889');
    expect(rows[2].verdict).toBe('fail');
    expect(rows[2].evaluations.attribution.verdict).toBe('fail');
    expect(stderr).toMatch(/in\.jsonl:3: not valid JSON/);
    expect(stderr).toMatch(/in\.jsonl:4: response: /);
    expect(stderr).toMatch(/scored 3 response\(s\).*2 flagged, 2 bad line\(s\)/);
  });

  it('leaves an answer with nothing to check it against unknown, even when it does not contradict itself', async () => {
    const bare = join(dir, 'bare.jsonl');
    writeFileSync(
      bare,
      JSON.stringify({ id: 'e', response: 'Paris is the capital of Germany. It has 90 million residents.' }),
    );
    const { stdout, exitCode } = await run(['quality', 'score', '--input', bare]);
    expect(exitCode).toBe(0);
    const row = JSON.parse(stdout.trim());
    expect(row.evaluations.consistency.verdict).toBe('pass');
    expect(row).toMatchObject({ verdict: 'unknown', hallucination_score: 0 });
  });

  it('writes to stdout without --output', async () => {
    const { stdout } = await run(['quality', 'score', '--input', input]);
    expect(stdout.trim().split('\n')).toHaveLength(3);
  });

  it('with --config, checks each line as the recorder does: within quality.maxChars and maxContextChars', async () => {
    // The wrong figure (1925) is past the first 60 characters of the response; the figure that backs it, past the
    // first 80 of the context.
    const long = join(dir, 'long.jsonl');
    writeFileSync(
      long,
      JSON.stringify({
        id: 'f',
        context: ['The Eiffel Tower stands in Paris and is 330 metres tall.', 'It was completed in 1889.'],
        response: 'The Eiffel Tower stands in Paris and is 330 metres tall. It was completed in 1925.',
      }),
    );
    const config = join(dir, 'llmscope.yaml');
    writeFileSync(config, 'quality:\n  maxChars: 60\n  maxContextChars: 80\n');
    const cut = await run(['quality', 'score', '--input', long, '--config', config]);
    const row = JSON.parse(cut.stdout.trim());
    expect(row.claims.map((c: { text: string }) => c.text)).toEqual([
      'The Eiffel Tower stands in Paris and is 330 metres tall.',
    ]);
    expect(row.response).toContain('1925');
    expect(cut.stderr).toContain(
      `cut to ${config}'s limits: 1 response(s) to quality.maxChars 60, 1 context(s) to maxContextChars 80`,
    );
    // --no-limits, or no config: read whole, the wrong year found
    for (const args of [['--config', config, '--no-limits'], []]) {
      const whole = await run(['quality', 'score', '--input', long, ...args]);
      expect(JSON.parse(whole.stdout.trim()).claims).toHaveLength(2);
      expect(JSON.parse(whole.stdout.trim()).verdict).toBe('fail');
      expect(whole.stderr).not.toContain('cut to');
    }
    await expect(run(['quality', 'score', '--input', long, '--config', join(dir, 'none.yaml')])).rejects.toThrow(
      /cannot read config file/,
    );
  });

  it('says what is wrong with a missing file', async () => {
    await expect(run(['quality', 'score', '--input', join(dir, 'nope.jsonl')])).rejects.toThrow(/no such file/);
    await expect(run(['quality', 'score', '--input', input, '--knowledge', join(dir, 'kb')])).rejects.toThrow(
      `cannot read --knowledge ${join(dir, 'kb')}: no such folder`,
    );
    await expect(run(['quality', 'score', '--input', input, '--knowledge', input])).rejects.toThrow(
      `cannot read --knowledge ${input}: not a folder`,
    );
  });
});
