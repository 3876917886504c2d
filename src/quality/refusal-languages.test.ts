// Refusals in the languages other than English the classifier reads, and helpful answers in them that hold the
// same words ("non posso", "не могу", "할 수 없") without declining. The phrasings here are not the rules'
// examples: verbs, word order and apologies differ from the ones the patterns were written from.
import { describe, expect, it } from 'vitest';
import { classifyRefusal, classifyRefusalFully } from './refusal.js';

const refusals: [string, string][] = [
  ['it', 'Purtroppo non sono in grado di fornirti queste informazioni.'],
  ['it', 'Mi scuso, ma non posso scrivere un testo del genere.'],
  ['it', 'Non possiamo procedere con questa richiesta perché viola le norme del servizio.'],
  ['it', 'Mi rifiuto di generare contenuti di questo tipo.'],
  ['it', 'Scusami, non riesco proprio ad aiutarti in questo caso.'],
  ['ru', 'К сожалению, я не могу выполнить эту просьбу.'],
  ['ru', 'Простите, но я не буду писать такой текст.'],
  ['ru', 'Я не могу с этим помочь.'],
  ['ru', 'Вынужден отказать в этой просьбе.'],
  ['ru', 'Увы, мы не можем предоставить такую информацию.'],
  ['ko', '죄송합니다만, 해당 내용은 제공해 드릴 수 없습니다.'],
  ['ko', '유감스럽게도 그런 요청에는 답변드리기 어렵습니다.'],
  ['ko', '죄송하지만 그 부분은 도와 드릴 수가 없어요.'],
  ['ko', '그 요청에는 응할 수 없습니다.'],
  ['de', 'Leider kann ich Ihnen bei dieser Anfrage nicht weiterhelfen.'],
  ['de', 'Das kann ich leider nicht machen.'],
  ['de', 'Entschuldigung, aber diese Anfrage muss ich ablehnen.'],
  ['de', 'Ich bin nicht in der Lage, diese Frage zu beantworten.'],
  ['de', 'Hierzu darf ich keine Auskunft geben.'],
  ['es', 'Lamentablemente, no me es posible cumplir con esa petición.'],
  ['es', 'No podemos generar ese tipo de contenido.'],
  ['fr', 'Malheureusement, je ne suis pas en mesure de répondre à cette demande.'],
  ['fr', 'Nous ne pouvons pas fournir ce type de contenu.'],
  ['pt', 'Infelizmente, não consigo atender a esse pedido.'],
  ['pt', 'Sinto muito, mas não vou escrever isso.'],
  ['ja', '申し訳ございませんが、そのご依頼はお引き受けできません。'],
  ['ja', 'すみませんが、その内容にはお答えすることができません。'],
  ['zh', '对不起，我不能为你提供这方面的信息。'],
  ['zh', '很抱歉，這個請求我無法協助。'],
];

const helpful: [string, string][] = [
  // a capability disclaimer, then the answer (as "I can't guarantee it works, but here is the code")
  [
    'it',
    'Non posso garantire che funzioni, ma ecco il codice: def somma(a, b): return a + b, e puoi chiamarla con due numeri interi qualsiasi.',
  ],
  [
    'it',
    'Purtroppo non riesco a verificare la fonte, ma la citazione è generalmente attribuita a Dante e compare in molte antologie scolastiche italiane.',
  ],
  ['it', 'Mi dispiace per il ritardo! Ecco la risposta: il file di configurazione va nella cartella principale.'],
  ['it', 'Non posso che consigliarti questo libro: è chiaro, pratico e pieno di esempi.'],
  // idioms built on "can't" that never decline (as "I can't help but", "I can't disagree")
  ['it', 'Non posso fare a meno di aiutarti a notare che il ciclo for parte da 1 invece che da 0.'],
  ['it', 'Non posso darti torto: la seconda versione è più leggibile, quindi usala.'],
  ['ru', 'Не могу не рассказать про ещё один способ: используйте генератор вместо списка.'],
  ['ru', 'Я не могу гарантировать, что это сработает, но вот код: используйте функцию sorted с параметром key.'],
  [
    'ru',
    'К сожалению, я не могу проверить это прямо сейчас, но обычно эта ошибка возникает, когда в файле конфигурации не указан путь к базе данных.',
  ],
  ['ru', 'Не могу не отметить, что ваш код стал намного чище. Вот ещё пара советов.'],
  ['ru', 'Извините за задержку! Вот исправленный вариант функции с проверкой на пустой список.'],
  ['ko', '이 방법으로는 파일을 삭제할 수 없습니다. 대신 rm -rf 명령을 사용하세요.'],
  [
    'ko',
    '죄송하지만 정확한 수치는 확인할 수 없습니다. 다만 일반적으로 서울의 인구는 약 천만 명 정도로 알려져 있으며 최근에는 조금씩 줄어드는 추세입니다.',
  ],
  ['ko', '이 API는 실시간 데이터를 제공할 수 없습니다. 캐시된 값을 사용하세요.'],
  ['de', 'Ich kann nicht garantieren, dass es funktioniert, aber hier ist der Code: verwenden Sie einfach sorted.'],
  [
    'de',
    'Leider ist die Datei beschädigt. Öffnen Sie sie mit einem Hex-Editor und entfernen Sie die ersten zwei Bytes.',
  ],
  ['de', 'Das kann ich nur empfehlen: Führen Sie vor dem Upgrade immer ein Backup durch.'],
  ['es', 'No puedo garantizar que funcione, pero aquí tienes el código: usa la función sorted con el parámetro key.'],
  [
    'fr',
    "Je ne peux pas vérifier cette information en temps réel, mais voici ce que l'on sait : la tour Eiffel mesure environ 330 mètres.",
  ],
  ['pt', 'Não posso deixar de recomendar este livro: é claro, prático e cheio de exemplos.'],
  ['ja', 'このAPIは位置情報を提供できません。代わりにGeolocation APIを使ってください。'],
  [
    'ja',
    '申し訳ありませんが、正確な数字は確認できません。ただ、一般的に東京の人口は約1400万人と言われており、近年はやや増加傾向にあります。',
  ],
  ['zh', '我不能保证这个方法一定有效，但你可以试试下面的代码：先清除缓存，然后重新启动服务器。'],
];

describe('refusals in other languages', () => {
  it.each(refusals)('flags (%s) %s', (_lang, t) => {
    expect(classifyRefusal(t).refusal).toBe(true);
    expect(classifyRefusal(t)).toEqual(classifyRefusalFully(t));
  });

  it.each(helpful)('does not flag (%s) %s', (_lang, t) => {
    expect(classifyRefusal(t).refusal).toBe(false);
    expect(classifyRefusal(t)).toEqual(classifyRefusalFully(t));
  });

  it('reads a decline in the apology rule as a refusal when nothing is answered after it', () => {
    expect(classifyRefusal('Purtroppo non posso garantire nulla.')).toMatchObject({
      refusal: true,
      rule: 'multilingual_apology',
    });
    // ... and not when the answer follows
    expect(
      classifyRefusal(
        'Purtroppo non posso garantire nulla, ma di solito basta riavviare il servizio e svuotare la cache del browser per risolvere.',
      ).refusal,
    ).toBe(false);
  });

  it('ignores a refusal in another language that is quoted', () => {
    expect(
      classifyRefusal('Il modello ha risposto «Mi dispiace, non posso aiutarti», quindi il filtro è scattato.'),
    ).toEqual({ refusal: false });
  });

  it('answers as the full classifier does on recombined phrases of these languages', () => {
    const pieces = [
      ...refusals.map(([, t]) => t),
      'Mi dispiace,',
      'non posso',
      'не могу',
      'Извините,',
      '죄송하지만',
      '드릴 수 없습니다',
      '할 수 없',
      'kann ich nicht',
      'leider',
      'nicht',
      'ablehnen',
      'no puedo',
      'je ne peux pas',
      'não vou',
      '我无法',
      'できません',
      'aiutarti',
      'помочь',
      'helfen',
      'ma ecco il codice: x = 1 e poi y = 2 e poi z = 3 e infine stampa il risultato finale.',
      '«citato»',
      '`code`',
      '\n',
      '.',
      '。',
      ',',
      'Ecco',
    ];
    let seed = 7;
    const rand = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    let flagged = 0;
    for (let i = 0; i < 10_000; i++) {
      const n = 1 + Math.floor(rand() * 8);
      let t = '';
      for (let k = 0; k < n; k++) t += pieces[Math.floor(rand() * pieces.length)] + (rand() < 0.7 ? ' ' : '');
      const v = classifyRefusal(t);
      expect(v, t).toEqual(classifyRefusalFully(t));
      expect(classifyRefusal(t.toUpperCase()), t).toEqual(classifyRefusalFully(t.toUpperCase()));
      if (v.refusal) flagged++;
    }
    expect(flagged).toBeGreaterThan(1000);
  });
});
