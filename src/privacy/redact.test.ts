import { describe, expect, it } from 'vitest';
import { ibanValid, luhnValid, Redactor, redactText, redactWithRanges } from './redact.js';

describe('Redactor', () => {
  const counted = () => {
    const counts: Record<string, number> = {};
    const r = new Redactor({
      onRedact: (k, n) => {
        counts[k] = (counts[k] ?? 0) + n;
      },
    });
    return { r, counts };
  };

  it('redacts each kind of personal data and secret, and counts them by kind', () => {
    const { r, counts } = counted();
    const text = [
      'mail alice.smith+x@example.co.uk or bob@corp.example.com,',
      'card 4111 1111 1111 1111 and 5500-0000-0000-0004,',
      'iban GB82 WEST 1234 5698 7654 32 / DE89370400440532013000,',
      'ssn 123-45-6789, nino AB 12 34 56 C,',
      'ip 192.168.1.20 and 2001:db8:85a3::8a2e:370:7334,',
      'phone +1 (415) 555-0132 and +44 20 7946 0958,',
      'keys sk-proj-abcdefghijklmnop AKIAIOSFODNN7EXAMPLE ghp_abcdefghijklmnopqrstuvwxyz0123456789 Bearer abc.def',
      'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    ].join(' ');
    const out = r.redact(text);
    for (const leak of [
      'alice',
      'bob@',
      '4111',
      '5500',
      'WEST',
      'DE89',
      '123-45',
      'AB 12',
      '192.168',
      '2001:db8',
      '555-0132',
      '7946',
      'sk-proj',
      'AKIA',
      'ghp_',
      'abc.def',
      'eyJ',
    ])
      expect(out, leak).not.toContain(leak);
    expect(counts).toEqual({ email: 2, card: 2, iban: 2, national_id: 2, ip: 2, phone: 2, secret: 5 });
  });

  it('leaves look-alikes that fail their checksum or shape alone', () => {
    const { r, counts } = counted();
    const text =
      'order 4111 1111 1111 1112 (not Luhn), iban GB00 WEST 1234 5698 7654 32 (bad check), at 12:30:45 on 2024-01-15, ' +
      'std::vector and foo::bar, version 3.11, 10 000 users, model gpt-4o-2024-08-06, sk-short';
    expect(r.redact(text)).toBe(text);
    expect(counts).toEqual({});
  });

  it('redacts international numbers written in groups of one or two digits (+33 6 12 34 56 78)', () => {
    const { r, counts } = counted();
    const text =
      'fr +33 6 12 34 56 78, be +32 4 12 34 56 78, uk +44 (0)20 7946 0958, nl +31 6 1234 5678, de +49 171 1234567';
    expect(r.redact(text)).toBe(
      'fr [redacted-phone], be [redacted-phone], uk [redacted-phone], nl [redacted-phone], de [redacted-phone]',
    );
    expect(counts).toEqual({ phone: 5 });
    // Short runs after a plus are sums, offsets and versions, not numbers to call.
    const plain = 'x +1 2 3, UTC +5 30, v +1.2.3, 3 +4 = 7, score +12 34';
    expect(r.redact(plain)).toBe(plain);
  });

  it('runs configured patterns first, under their own kind', () => {
    const counts: Record<string, number> = {};
    const r = new Redactor({
      patterns: [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }],
      onRedact: (k, n) => {
        counts[k] = n;
      },
    });
    expect(r.redact('ask EMP-123456 about it')).toBe('ask [redacted-employee_id] about it');
    expect(counts).toEqual({ employee_id: 1 });
  });

  it('is linear on pathological input (one long word, many separators)', () => {
    for (const s of [
      'x'.repeat(200_000),
      '1'.repeat(200_000),
      'a@'.repeat(50_000),
      '1.'.repeat(50_000),
      ':1'.repeat(50_000),
    ]) {
      // A quadratic pattern takes tens of seconds here; the test's own timeout is the guard.
      expect(redactText(s).length).toBeGreaterThan(0);
    }
  });

  it('keeps offsets into the text true when redacting between them', () => {
    const r = new Redactor();
    const text = 'user: mail me at a@b.io\nassistant: call +1 415 555 0132\nuser: thanks\n';
    const start = text.indexOf('assistant');
    const end = text.indexOf('user: thanks');
    const ranges = [start, end];
    const out = redactWithRanges(r, text, ranges);
    expect(out.slice(ranges[0], ranges[1])).toBe('assistant: call [redacted-phone]\n');
    expect(out).toBe('user: mail me at [redacted-email]\nassistant: call [redacted-phone]\nuser: thanks\n');
  });

  it('checksums', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('GB82WEST12345698765431')).toBe(false);
  });
});

describe('redactText (the built-in patterns, as the content enricher used them)', () => {
  it('masks keys, bearer tokens, emails and card numbers', () => {
    const s = redactText(
      'key sk-proj-abcdefghijklmnop, Bearer abc.def, mail bob@example.com, card 4111 1111 1111 1111',
    );
    expect(s).not.toMatch(/sk-proj|abc\.def|bob@|4111/);
  });
});

describe('rules skipped for texts without what they need (a digit, an @, a colon)', () => {
  it('gives what running every rule gives, on texts with and without each', () => {
    const pieces = [
      'hello',
      'The tower',
      'bob@example.com',
      'mail me at ann.lee@corp.example.org',
      '4111 1111 1111 1111',
      'GB82WEST12345698765432',
      '123-45-6789',
      'AB 12 34 56 C',
      '192.168.1.20',
      'fe80::abcd:ef',
      '::beef:cafe',
      '+44 20 7946 0958',
      '(415) 555-2671',
      'sk-proj-abcdefghijklmnop',
      'Bearer abc.def',
      'at 10:30',
      'ratio 3:2',
      'no digits here at all',
      '@handle',
      'x:y',
    ];
    const r = new Redactor({ patterns: [{ name: 'order', pattern: 'ORD-[A-Z]{4}' }] });
    // With a tail holding a digit, an '@' and a colon on lines of their own, every rule runs; the tail cannot join a
    // match (no pattern crosses a newline next to those characters) and comes back unchanged.
    const tail = '\n0\n@\n:';
    const texts = pieces.flatMap((a) => [a, ...pieces.flatMap((b) => [`${a} ${b}`, `${a}, ${b}`])]);
    for (const text of texts) {
      const all = r.redact(text + tail);
      expect(all.endsWith(tail)).toBe(true);
      expect(r.redact(text)).toBe(all.slice(0, -tail.length));
    }
    expect(r.redact('ORD-ABCD at 10:30')).toBe('[redacted-order] at 10:30');
    expect(r.redact('host fe80::abcd:ef')).toBe('host [redacted-ip]');
  });
});
