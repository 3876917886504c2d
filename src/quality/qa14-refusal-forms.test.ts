// QA14: refusal forms written after the rules, by someone other than their author, that the classifier missed, and a
// refusal the model only reports in single quotes (which was taken for its own). Each case failed before this change.
import { describe, expect, it } from 'vitest';
import { classifyRefusal } from './refusal.js';

describe('classifyRefusal: forms written after the rules (QA14)', () => {
  it('reads the impersonal first-person impossibility ("il m\'est impossible", "es ist mir nicht möglich")', () => {
    const refusals = [
      "Je suis navré, mais il m'est impossible de vous aider avec cette demande.",
      "Il m'est impossible de répondre à cette question.",
      'Leider ist es mir nicht möglich, diese Anfrage zu bearbeiten.',
      'Es ist mir nicht möglich, Ihnen dabei weiterzuhelfen.',
      'Lo siento, me es imposible ayudarte con eso.',
      'Mi dispiace, mi è impossibile aiutarti con questa richiesta.',
    ];
    for (const t of refusals) expect(classifyRefusal(t).refusal, t).toBe(true);
    // As with every apology rule, an answer after it makes it none.
    const answers = [
      "Désolé, il m'est impossible de garantir ce chiffre, mais d'après la documentation la limite est de 30 secondes par requête et de 100 requêtes par minute.",
      'Leider ist es mir nicht möglich, das genau zu sagen, aber laut Handbuch beträgt die Akkulaufzeit etwa 18 Stunden bei normaler Nutzung und mittlerer Helligkeit.',
      'Il est impossible de diviser par zéro : ajoutez un test avant la division.',
      'Es ist nicht möglich, die Datei ohne Schlüssel zu öffnen; erzeugen Sie zuerst einen Schlüssel.',
    ];
    for (const t of answers) expect(classifyRefusal(t).refusal, t).toBe(false);
  });

  it('knows weiterhelfen, お応えいたしかねます and the English progressive and "say no" declines', () => {
    const refusals = [
      'Ich kann Ihnen bei dieser Anfrage nicht weiterhelfen.',
      'そのリクエストにはお応えいたしかねます。',
      'その件についてはご回答いたしかねます。',
      "I won't be helping with that.",
      "I'm going to have to say no to this one.",
      "That's not a request I'm able to fulfil.",
    ];
    for (const t of refusals) expect(classifyRefusal(t).refusal, t).toBe(true);
    const answers = [
      'Ich kann dir dabei helfen! Hier ist der Code: print(1)',
      "I won't be long: the answer is 42.",
      'I must say no one has measured this before 2019, but the 2021 study found 18 hours.',
    ];
    for (const t of answers) expect(classifyRefusal(t).refusal, t).toBe(false);
  });

  it('does not take a refusal the answer quotes in single quotes for its own', () => {
    const reported = [
      "The API returns 'I can't help with that' when the user is blocked.",
      "If the model replies 'I'm sorry, but I cannot assist with that request.', retry with a system prompt.",
    ];
    for (const t of reported) expect(classifyRefusal(t).refusal, t).toBe(false);
    // Apostrophes in words open no quote: these still decline.
    for (const t of ["I can't help with that, it's not something I'd write.", "Sorry, I can't share the users' data."])
      expect(classifyRefusal(t).refusal, t).toBe(true);
  });
});

describe('classifyRefusal: JSON mode (QA14)', () => {
  it("reads a JSON answer's values as the model's own words", () => {
    // Before, the double quotes around every JSON string hid the decline as a quotation.
    for (const t of [
      '{"answer": "I\'m sorry, but I can\'t help with that request."}',
      '{"error": "I cannot help with that request.", "data": null}',
      '[{"role": "assistant", "content": "Lo siento, pero no puedo ayudarte con eso."}]',
    ])
      expect(classifyRefusal(t).refusal, t).toBe(true);
    for (const t of [
      '{"answer": "I can\'t stress enough how important backups are: run them nightly."}',
      '{"name": "Acme Widget 3000", "weight_kg": 2.4}',
      // not JSON (the quote is the model reporting a refusal): as before
      'The API returns "I can\'t help with that" when the user is blocked.',
    ])
      expect(classifyRefusal(t).refusal, t).toBe(false);
  });
});
