// Refusal detection on every response: the provider's own signals (finish_reason `content_filter`, OpenAI's
// `refusal` field, already folded into call.refusal by the gateway) plus a phrase classifier for the many ways
// models decline in plain text. The classifier reads only the opening of a response, where refusals sit, and
// ignores quoted text and code, so "the model replied "I can't help with that"" is not itself a refusal.
//
// What counts as a refusal: the model declines (all or part of) what was asked — for policy, safety, or because it
// cannot — and does not go on to answer. A capability disclaimer followed by an answer ("I can't browse, but as of
// 2023 ...") is not a refusal; a decline followed by an alternative ("I can't write that, but I can help you ...")
// is. Idioms that merely look like refusals ("I can't stress enough", "I cannot recommend it highly enough",
// "I'm sorry to hear that", "I was unable to reproduce the bug, here is a fix") are not.
import type { Enricher, LlmCall } from '../calls/index.js';
import { jsonAnswerText } from './evaluators/answer.js';

export type RefusalSource = 'content_filter' | 'refusal_field' | 'phrase';

export interface RefusalVerdict {
  refusal: boolean;
  /** Which rule decided (`decline_verb`, `apology_inability`, `policy`, `as_an_ai`, `explicit_decline`, `multilingual`,
   * `multilingual_apology`). */
  rule?: string;
  /** The text that matched (lowercased, from the response's opening). */
  match?: string;
}

// Verbs whose negation declines a request ("I can't help", "I won't write"); capability verbs (find, see, access,
// confirm, guarantee, reproduce, ...) are not here, because "I can't find X, but ..." usually goes on to answer.
const DECLINE_VERBS =
  'help|assist|provide|comply|fulfill|fulfil|create|generate|write|produce|share|give|support|engage|answer|discuss|' +
  'continue|participate|offer|do (?:that|this|it|so)|make|explain|draft|compose|build|develop|complete|tell you|' +
  'reveal|disclose|endorse|facilitate|condone|encourage|promote|look (?:that |this |it )?up|go (?:any further|there)|' +
  'be of (?:help|assistance)|accommodate|grant|carry out|perform|describe|detail|list|speculate|role-?play';

const INABILITY =
  "(?:(?:can't|cannot|can not) and (?:won't|will not)|can't|cannot|can not|won't|will not|am unable to|'m unable to|unable to|am not able to|'m not able to|" +
  "are not able to|'re not able to|are unable to|'re unable to|" +
  "won't be able to|will not be able to|am not going to|'m not going to|am not allowed to|'m not allowed to|" +
  "am not permitted to|'m not permitted to|must not|shouldn't|should not|" +
  "(?:must|have to|need to|'ll have to|will have to|'m going to have to|am going to have to) decline to)";

const SUBJECT = '(?:\\bi|\\bwe)(?:\\s+(?:really|truly|simply|just|unfortunately|still|also))?\\s*';

/** A word in any script (for the other languages' rules, which run with the `u` flag). */
const W = "[\\p{L}']+";

/** Apologies and regrets that open a decline in the other languages the classifier reads. */
const APOLOGY_ML = [
  '(?<!\\p{L})(?:lo siento|lo lamento|lamentablemente|desafortunadamente|disculpa|disculpe|perdón)',
  '(?<!\\p{L})(?:désolée?|je suis désolée?|malheureusement|je regrette|navrée?|excusez-moi|pardon)',
  '(?<!\\p{L})(?:tut mir leid|leider|bedauerlicherweise|entschuldigung|entschuldigen sie|ich bedaure)',
  '(?<!\\p{L})(?:desculpe|desculpa|lamento|sinto muito|infelizmente|perdão)',
  '(?<!\\p{L})(?:mi dispiace|spiacente|purtroppo|mi scuso|scusa|scusami|scusate|sfortunatamente)',
  '(?<!\\p{L})(?:извините|простите|к сожалению|сожалею|увы|мне жаль|прошу прощения)',
  '죄송|미안|유감스럽게도|안타깝게도|아쉽게도',
  '抱歉|对不起|對不起|很遗憾|很遺憾|不好意思',
  '申し訳|すみません|残念ながら',
  // Arabic (a word may carry a prefixed conjunction or article, and tanween: عذرًا), Hindi (नुक़्ता or not: माफ़/माफ)
  'عذر|آسف|أعتذر|اعتذر|نعتذر|للأسف|للاسف|مع الأسف|معذرة|نأسف',
  'माफ|क्षमा|खेद है|दुर्भाग्य',
  // Hindi in Latin letters, as chat writes it ("Maaf kijiye", "maafi chahta hoon", "kshama karein")
  '(?<!\\p{L})(?:maaf|maafi|muaf|muaaf|kshama|afsos)(?!\\p{L})',
  '(?<!\\p{L})(?:üzgünüm|maalesef|özür dilerim|kusura bakma)',
  '(?<!\\p{L})(?:xin lỗi|rất tiếc|tiếc là|thật tiếc)',
  '(?<!\\p{L})(?:het spijt me|helaas|excuses|excuus)',
  '(?<!\\p{L})(?:maaf|mohon maaf|sayangnya)',
  '(?<!\\p{L})(?:przepraszam|niestety|przykro mi)',
].join('|');

/**
 * A first-person inability in those languages, whatever the verb (an apology before it makes it a decline). The
 * Korean forms here are the humble ones (드리다, "for you"), the Chinese ones have 我, and the Japanese ones are
 * the polite declines, so that each is the speaker's own.
 */
const INABILITY_ML_PERSONAL = [
  '(?<!\\p{L})no (?:puedo|podemos|podré|me es posible|estoy en condiciones|soy capaz|voy a)(?!\\p{L})',
  '(?<!\\p{L})(?:je ne (?:peux|pourrai|pourrais|suis pas en mesure|vais)|nous ne (?:pouvons|pourrons))(?!\\p{L})',
  // "it is impossible for me": the speaker's own inability said impersonally (m', mir, me, mi, me)
  "(?<!\\p{L})(?:il m'est impossible|il ne m'est pas possible|es ist mir (?:leider )?(?:nicht möglich|unmöglich)|ist es mir (?:leider )?(?:nicht möglich|unmöglich)|me es imposible|mi è impossibile|non mi è possibile|não me é possível|é-me impossível)(?!\\p{L})",
  '(?<!\\p{L})(?:ich (?:kann|darf|werde)|(?:kann|darf|werde) ich|ich bin)(?: \\p{L}+){0,4}? (?:nicht|keine\\p{L}*)(?!\\p{L})',
  '(?<!\\p{L})não (?:posso|podemos|poderei|consigo|sou capaz|estou em condições|vou)(?!\\p{L})',
  '(?<!\\p{L})non (?:posso|possiamo|potrò|sono in grado|siamo in grado|riesco|riusciamo)(?!\\p{L})',
  '(?<!\\p{L})не (?:могу|можем|смогу|сможем|буду|в состоянии|имею (?:права|возможности))(?!\\p{L})',
  '드릴 수 ?(?:가 )?없|드리기 (?:어렵|어려|곤란)',
  '我(?:无法|不能|無法|没办法|沒辦法|没法|沒法)',
  'できかねます|いたしかねます',
  // Arabic: the first person is in the verb or its suffix (أستطيع, يمكنني, عليّ)
  '(?<!\\p{L})(?:لا (?:أستطيع|استطيع|يمكنني|أقدر|اقدر|يسعني|أتمكن|اتمكن)|لن (?:أستطيع|استطيع|أتمكن|اتمكن|يمكنني|أقوم)|لست (?:قادر|في وضع|مخول)|يتعذر علي|يتعذّر عليّ)',
  // Hindi: मैं/हम … नहीं कर सकता/सकती/सकते, or असमर्थ; the past (नहीं बना पाया, "I couldn't reproduce") reports an attempt
  '(?:मैं|हम)[^।.!?]{0,60}?(?:नहीं (?:[\\p{L}\\p{M}]+ )?(?:सकत|पाऊ|पाएँग|पाएंग)|असमर्थ)',
  // Hindi in Latin letters: main/hum … nahi(n) (kar/de/bata …) sakta/sakti/sakte/paunga, "mere liye sambhav nahi"
  '(?<!\\p{L})(?:main|mai|hum|ham)(?: \\p{L}+){0,6}? nahi?n? (?:\\p{L}+ )?(?:sakta|sakti|sakte|paunga|paungi|paayenge|payenge|paaunga|paaungi)(?!\\p{L})|(?<!\\p{L})mere (?:liye|liey|lie) (?:yeh |ye |aisa |is )?(?:sambhav|possible|mumkin|sambhaw) nahi?n?(?!\\p{L})',
  // Turkish: the verb's first-person negative ability (-(y)amam, -(y)emiyorum, -(y)amayacağım)
  '(?<!\\p{L})\\p{L}+(?:a|e|ya|ye)(?:mam|mem|mıyorum|miyorum|mayacağım|meyeceğim)(?!\\p{L})',
  '(?<!\\p{L})(?:tôi|mình|chúng tôi) (?:không thể|không được phép|xin từ chối|từ chối)',
  '(?<!\\p{L})(?:(?:ik|wij|we) (?:kan|kunnen|mag|mogen|ga|gaan|wil)|(?:kan|mag|ga|wil) ik)(?: \\p{L}+){0,4}? (?:niet|geen)(?!\\p{L})',
  '(?<!\\p{L})(?:saya|aku|kami) (?:tidak|tak) (?:dapat|bisa|mampu|akan|diizinkan)(?!\\p{L})',
  '(?<!\\p{L})nie (?:mogę|jestem w stanie|będę|mogę ci|mogę pani|mogę panu)(?!\\p{L})',
].join('|');

/**
 * After an apology, the subjectless forms too: Korean "…할 수 없습니다", Chinese "无法", Japanese "できません" say
 * what cannot be done without saying who, so they count only where an apology opens the sentence.
 */
const INABILITY_ML = `${INABILITY_ML_PERSONAL}|수 ?(?:가 )?없|어렵습니다|어려워요|无法|不能|無法|没办法|沒辦法|できません`;

/** A further decline after a disclaimer, in those languages (see answersAfter). */
const ANY_INABILITY_ML = new RegExp(INABILITY_ML_PERSONAL, 'u');

const RULES: { rule: string; re: RegExp; continuation?: boolean }[] = [
  {
    rule: 'decline_verb',
    re: new RegExp(
      `${SUBJECT}${INABILITY}\\s+(?:(?:\\w+|in good conscience),?\\s+){0,2}?(?:${DECLINE_VERBS})\\b(?!\\s+but\\b)`,
    ),
  },
  {
    // A terse decline without its subject, as a sentence of its own: "Can't help with that.", "Won't write this."
    rule: 'terse_decline',
    re: new RegExp(
      `(?:^|[.!?]\\s)(?:sorry,?\\s+)?(?:can't|cannot|won't)\\s+(?:${DECLINE_VERBS})(?:\\s+(?:you\\s+)?(?:with\\s+)?(?:that|this|it|those|these)(?:\\s+(?:one|request|task|question))?)?\\s*(?:[.!]|$)`,
    ),
  },
  {
    rule: 'explicit_decline',
    re: new RegExp(
      [
        "\\bi(?:'ll| will| must| have to| need to|'m going to| am going to|'m afraid i| am afraid i)?(?: have to)? (?:respectfully |politely )?(?:decline|refuse|pass on)\\b",
        "\\bi(?:'ll| will) have to pass\\b",
        "\\bi(?:'m| am)(?: going to| gonna)? have to say no\\b|\\bi(?:'ll| will) have to say no\\b",
        "\\b(?:i|we)(?: won't| will not|'m not going to| am not going to) be (?:helping|assisting|providing|writing|creating|generating|sharing|answering|giving|producing|engaging|participating|doing (?:that|this|so))\\b",
        "\\bi(?:'d| would) (?:rather|prefer) not\\b",
        "\\bi(?:'m| am) not (?:comfortable|going to)\\b",
        "\\bi (?:don't|do not) feel comfortable\\b",
        "\\bi (?:don't|do not) think i (?:should|can) (?:help|assist|do|provide|write|answer)\\b",
        "\\b(?:isn't|is not|not) (?:something|a request|a task) i(?:'m| am)? ?(?:can|could|will|able to|allowed to|permitted to) ?(?:help|assist|do|provide|support|create|share)?\\b",
        "\\b(?:isn't|is not|not) (?:something|a request|a task) (?:i|we)(?:'ll| will|'re| are|'m| am)(?: be)? (?:helping|assisting|doing|providing|writing|sharing)\\b",
        "\\boutside (?:of )?(?:the scope of )?what (?:i|we|(?:this|the) (?:assistant|bot|chatbot|model))(?:'m| am|'re| are| is)? ?(?:can|able to|allowed to|permitted to)\\b",
        "\\bi(?:'m| am) not (?:allowed|permitted|authorized) to\\b",
        "\\b(?:it's|it is|it would be) (?:not |in)appropriate for me to\\b|\\bit would(?:n't| not) be appropriate for me to\\b",
      ].join('|'),
    ),
  },
  {
    rule: 'policy',
    re: /\b(?:violates?|violating|against|goes against|go against|contrary to|not allowed (?:by|under)|prohibited by|breach(?:es)? of|outside)\s+(?:(?:my|our|the|openai's|anthropic's)\s+(?:content |usage |safety |ethical |community )?|(?:content|usage|safety|ethical|community) )(?:guidelines|policies|policy|usage policies|terms of (?:use|service)|principles|programming|rules)\b|\b(?:my|our) (?:guidelines|policies|programming|rules|principles) (?:don't|do not|doesn't|does not|won't|prevent|prohibit|forbid)\b|\b(?:due to|because of|per) (?:my |our |the )?(?:safety |content |usage )?(?:policies|policy|guidelines)\b.{0,40}\bi (?:can't|cannot|won't|am unable|'m unable)/,
  },
  {
    // An apology with a first-person inability, e.g. "Sorry, I'm not able to browse the internet" — a refusal
    // unless the response goes on to answer.
    rule: 'apology_inability',
    re: new RegExp(
      `\\b(?:sorry|apologi[sz]e|apologies|regrettably|unfortunately|afraid)\\b[^.!?]{0,80}?${SUBJECT}(?:${INABILITY}|(?:do not|don't) have (?:the ability|access|the capability))`,
    ),
    continuation: true,
  },
  {
    rule: 'no_ability',
    re: /\bi (?:do not|don't) (?:have the (?:ability|capability|means|permission) to|provide (?:assistance|help|support|advice|instructions) (?:with|on|for))\b/,
    continuation: true,
  },
  {
    rule: 'as_an_ai',
    re: /\bas an ai(?: language model| model| assistant| chatbot)?\b[^.!?]{0,60}?\bi (?:can't|cannot|can not|don't|do not|am not able|'m not able|am unable|'m unable|won't|am not|'m not)\b/,
    continuation: true,
  },
  {
    // Not permitted, in English and the Romance and German forms ("Não tenho permissão para fornecer…", "no estoy
    // autorizado a…", "je n'ai pas le droit de…"): a refusal unless an answer follows, as apology_inability.
    rule: 'no_permission',
    re: /\bi (?:don't|do not) have (?:the )?permission to\b|(?<!\p{L})(?:não tenho (?:permissão|autorização) para|não estou autorizad[oa] a|no tengo (?:permiso|autorización) para|no estoy autorizad[oa] (?:a|para)|je ne suis pas autorisée? à|je n'ai pas (?:le droit|l'autorisation|la permission) de|ich habe (?:leider )?keine (?:berechtigung|erlaubnis))(?!\p{L})/u,
    continuation: true,
  },
  {
    // A safety redirect: the response opens by sending the user to emergency or crisis services instead of answering
    // ("Please contact a poison control center right away instead of …", "please reach out to a crisis line now").
    // A first-aid answer that opens with "Call 911" and goes on to the steps is none (the continuation check).
    rule: 'safety_redirect',
    re: /^[^.!?]*?\b(?:call|contact|reach out to|text|dial|talk to|speak (?:to|with)|get in touch with)\b[^.!?]{0,80}?\b(?:emergency (?:services|number|room|department|line)|crisis (?:line|counsel\w*|hotline|text line|centers?|centres?)|poison control|poison (?:center|centre)|suicide|helpline|hotline|lifeline|samaritans|988|911|999|112)\b/,
    continuation: true,
  },
  {
    // Declining verbs in other languages, written like decline_verb: a first-person inability (the verb's own
    // person where the language drops the subject) with a verb that declines; capability verbs (garantire,
    // гарантировать, garantieren, 확인하다, ...) are not here, so "Non posso garantire che funzioni, ma ecco il
    // codice" is no refusal, as "I can't guarantee it works, but here is the code" is none.
    rule: 'multilingual',
    re: new RegExp(
      [
        // Spanish
        `\\b(?:no (?:puedo|podemos|voy a|me es posible|estoy en condiciones de|soy capaz de)|me es imposible)(?: ${W}){0,2}? (?:ayudar|proporcionar|asistir|hacer|cumplir|ofrecer|dar|responder|crear|generar|escribir|redactar|compartir|brindar|facilitar|participar|realizar|completar|atender|satisfacer|colaborar)`,
        '\\bme niego a\\b|\\bdebo (?:rechazar|declinar)\\b',
        'lo siento,? (?:pero )?no puedo',
        // French
        `\\b(?:je ne (?:peux|pourrai|pourrais|vais|suis)|nous ne (?:pouvons|pourrons|allons))(?: ${W})? pas(?: en mesure d'?e?)?(?: ${W}){0,2}? ?(?:vous |t'|te )?(?:aider|fournir|répondre|faire|créer|donner|générer|écrire|rédiger|partager|produire|satisfaire|participer|assister|accompagner|proposer|expliquer|donner suite)`,
        '\\bje (?:refuse|dois refuser|me vois obligée? de refuser)\\b',
        "\\bil (?:m'est impossible|ne m'est pas possible) (?:de |d')(?:vous |t'|te |y )?(?:aider|fournir|répondre|faire|créer|donner|générer|écrire|rédiger|partager|produire|satisfaire|participer|assister|accompagner|proposer|expliquer|donner suite)",
        'désolée?,? (?:mais )?je ne peux pas',
        // German (the verb comes last: "ich kann Ihnen dabei leider nicht helfen", "das kann ich nicht tun")
        `\\b(?:ich (?:kann|darf|werde|möchte)|(?:das|dies|dabei|damit|hierbei|hiermit|hierzu|dazu|darauf|dem|diese\\p{L}*) (?:kann|darf|werde|möchte) ich)(?: ${W}){0,4}? (?:nicht|keine\\p{L}*) (?:${W} )?(?:helfen|weiterhelfen|unterstützen|tun|machen|erfüllen|beantworten|bereitstellen|liefern|schreiben|verfassen|erstellen|generieren|geben|nachkommen|durchführen|ausführen|teilen|weitergeben|erklären|mitwirken|behilflich sein|hilfe leisten|unterstützung (?:leisten|bieten|geben))`,
        '\\bich bin (?:leider )?nicht in der lage,? (?:\\p{L}+ ){0,3}?(?:zu )?(?:helfen|unterstützen|erfüllen|beantworten|bereitzustellen|liefern|schreiben|erstellen|geben|nachzukommen)',
        '\\b(?:ich muss|muss ich) (?:\\p{L}+ ){0,3}?ablehnen\\b',
        '\\b(?:es ist mir|ist es mir) (?:leider )?(?:nicht möglich|unmöglich),? (?:\\p{L}+ ){0,4}?(?:zu (?:helfen|unterstützen|erfüllen|beantworten|bearbeiten|liefern|schreiben|erstellen|geben|teilen|erklären)|weiterzuhelfen|nachzukommen|bereitzustellen)',
        'es tut mir leid, aber ich kann',
        // Portuguese
        `\\bnão (?:posso|podemos|vou|consigo|sou capaz de|estou em condições de|me é possível)(?: ${W}){0,2}? (?:ajudar|fornecer|fazer|responder|criar|gerar|escrever|redigir|compartilhar|partilhar|atender|cumprir|dar|oferecer|realizar|auxiliar|assistir|prestar|colaborar|participar)`,
        '\\b(?:me recuso a|preciso recusar|devo recusar)\\b',
        // Italian
        `(?<!\\p{L})non (?:posso|possiamo|sono in grado di|siamo in grado di|riesco a|potrò|intendo|ho intenzione di)(?! (?:che|non|fare a meno)(?!\\p{L}))(?: ${W}){0,2}? (?:aiut|assist|fornir|far(?:e|lo|la|ti|vi)?(?!\\p{L})|cre(?:are|arlo|arla|arti)|gener|scriv|redig|rispond|dar(?:e|ti|vi|le|gli)?(?!\\p{L})(?! (?:torto|ragione))|condivid|soddisf|esaud|accontent|partecip|spieg|produr|support|procedere|collaborare|dare seguito)`,
        '(?<!\\p{L})(?:mi rifiuto di|devo (?:rifiutare|declinare))(?!\\p{L})',
        // "I'd rather not answer / help / go into it" in Italian, Spanish, French, Portuguese (as English's "I'd rather
        // not"), but only with a verb that declines: "preferisco non usare jQuery" states a preference
        '(?<!\\p{L})(?:preferisco|preferirei|prefiero|preferiría|je préfère|je préférerais|prefiro|preferiria) (?:non|no|ne pas|não) (?:\\p{L}+ )?(?:rispond|fornir|aiut|condivid|scriv|comment|entrar|pronunciar|esprim|respond|proporcionar|ayudar|compartir|escribir|comentar|répondre|fournir|aider|partager|écrire|commenter|ajudar|fornecer|compartilhar|escrever)',
        // Russian (the verb carries the person: "не могу" is "I cannot")
        '(?<!\\p{L})не (?:могу|можем|смогу|сможем|буду|стану|в состоянии|имею (?:права|возможности))(?! не(?!\\p{L}))(?: \\p{L}+){0,2}? (?:помо[гч]|помощ|предостав|выполн|сдела|дела|напис|писать|созда|ответ|дать|давать|рассказ|подел|участв|обсу[жд]|сгенер|генер|подсказ|содейств|раскры)',
        '(?<!\\p{L})(?:вынужден[аы]? (?:отказать|отклонить)|(?:я )?отказываюсь(?!\\p{L}))',
        // Korean (the humble 드리다, "for you", makes it first person: "도와드릴 수 없습니다", "답변드리기 어렵습니다")
        '(?:도와 ?(?:드릴|줄)|도울|도움을 (?:드릴|줄)|(?:제공|안내|답변|작성|생성|처리|지원|설명|말씀)(?:해|을|를)? ?드릴|알려 ?드릴|만들어 ?드릴|(?:요청|부탁|질문)에(?:는)? 응할) 수 ?(?:가 )?없',
        '(?:도와|도움을|(?:제공|안내|답변|작성|생성|처리|지원|설명)(?:해)?|알려|만들어) ?드리기 (?:어렵|어려|곤란)',
        // Chinese
        '我(?:无法|不能|没办法|不可以|不会|無法|沒辦法|没法|沒法)(?:为你|为您|帮你|帮您|為你|為您|幫你|幫您)?(?:协助|帮助|帮忙|提供|回答|处理|满足|完成|生成|编写|撰写|创建|参与|执行|協助|幫助|幫忙|處理|滿足|編寫|撰寫|創建|參與|執行)',
        '超出(?:了)?(?:我|本助手)(?:的)?(?:能|可以|所能|能够|能夠)?(?:提供|回答|处理|處理)?(?:的)?(?:帮助|協助|协助|幫助|帮忙|幫忙|服务|服務)?(?:的)?(?:范围|範圍|能力)|抱歉.{0,10}(?:无法|不能|無法)|恕我(?:无法|不能|無法)|我(?:必须|只能|必須)?拒绝|我(?:必須|只能)?拒絕',
        // Japanese
        '(?:お応え|お答え|お手伝い|対応|ご協力|お引き受け|ご期待に(?:は)?沿う|応じる)(?:することは|こと(?:は)?)?できません|(?:お応え|お答え|お手伝い|ご対応|対応|ご回答|回答|ご提供|提供|作成|お引き受け)(?:いた)?しかねます|お断り(?:いた)?します|(?:差し)?控えさせていただきます|差し控えます',
        // Arabic: an inability of the speaker's (see INABILITY_ML_PERSONAL) before a verb or verbal noun that declines,
        // which may carry و/ب/ل and the article: "لا أستطيع المساعدة", "لا يمكنني تقديم", "لن أتمكن من مساعدتك"
        '(?<!\\p{L})(?:لا (?:أستطيع|استطيع|يمكنني|أقدر|اقدر|يسعني|أتمكن من|اتمكن من)|لن (?:أستطيع|استطيع|أتمكن من|اتمكن من|يمكنني|أقوم ب)|لست (?:قادر[اًةا]*|في وضع يسمح لي) (?:على|ب)|يتعذ[رّ]+ عل[يّ]+)\\s*(?:\\p{L}+\\s+){0,1}?(?:[وبل]?(?:ال)?)(?:مساعد|أساعد|اساعد|تقديم|أقدم|اقدم|توفير|أوفر|اوفر|إجاب|اجاب|أجيب|اجيب|كتاب|أكتب|اكتب|إنشاء|انشاء|تنفيذ|أنفذ|تلبي|ألبي|مشارك|أشارك|شرح|أشرح|إعطاء|اعطاء|أعطي|إنتاج|توليد|الرد|رد|أرد|تزويد|أزود|إرشاد|تلبية|القيام|مناقش|أناقش|إكمال)',
        '(?<!\\p{L})(?:أرفض|يجب أن أرفض|أعتذر عن (?:تقديم|المساعدة|مساعدت|الإجابة|كتابة|تنفيذ|تلبية))',
        // Hindi: the request's verb (often a noun with कर/दे) before नहीं … सकता/सकती/सकते, or असमर्थ
        '(?:मदद|सहायता|प्रदान|जानकारी|उत्तर|जवाब|लिख|बना|साझा|पूरा|सहयोग|दे)[^।.!?]{0,20}?नहीं (?:कर |दे |लिख |बता )?(?:सकत|पाऊ|पाएँग|पाएंग)|नहीं (?:लिख|बता|बना|भेज|समझा|दिखा|सिखा)\\p{M}* (?:सकत|पाऊ|पाएँग|पाएंग)|(?:मदद|सहायता|प्रदान|उत्तर|जवाब|लिखने|बनाने|साझा)[^।.!?]{0,20}?असमर्थ',
        // Hindi in Latin letters: main/hum … nahi(n) kar/de/bata/likh … sakta/sakti/sakte/paunga ("main is kaam mein
        // aapki madad nahi kar sakta"); a capability verb ("main pakka nahi keh sakta, lekin …") is none
        '(?<!\\p{L})(?:main|mai|hum|ham)(?: (?!pakka|pakki|pakke|yakeen|yakin|sure|guarantee|exact|theek se|sahi sahi)\\p{L}+){0,6}? nahi?n? (?:kar|de|bata|likh|bana|bhej|dikha|samjha|sikha|kar ?wa) (?:sakta|sakti|sakte|paunga|paungi|paayenge|payenge|paaunga|paaungi)(?!\\p{L})|(?<!\\p{L})mere (?:liye|liey|lie)(?: \\p{L}+){0,2}? (?:sambhav|possible|mumkin|sambhaw) nahi?n?(?: hai| he)?(?: \\p{L}+)?\\s*(?:[.!,।]|$)',
        // Turkish: a declining verb in the first-person negative ability
        '(?<!\\p{L})(?:yardım ?(?:cı ol|ed)|destek (?:ol|ver)|sağla|ver|yaz|yap|oluştur|paylaş|üret|hazırla|anlat|açıkla|katıl|karşıla|cevap ver|yanıt ver|bilgi ver)(?:a|e|ya|ye)(?:mam|mem|mıyorum|miyorum|mayacağım|meyeceğim)(?!\\p{L})|(?<!\\p{L})reddet(?:mek zorundayım|meliyim|iyorum)',
        // Vietnamese
        '(?<!\\p{L})(?:tôi|mình|chúng tôi) (?:không thể|không được phép|sẽ không)(?: \\p{L}+){0,2}? (?:giúp|hỗ trợ|cung cấp|trả lời|viết|tạo|thực hiện|chia sẻ|đáp ứng|làm|đưa ra|hướng dẫn|tham gia)|(?<!\\p{L})(?:tôi|mình|chúng tôi) (?:xin )?từ chối',
        // Dutch (the verb comes last, as in German)
        '(?<!\\p{L})(?:(?:ik|wij|we) (?:kan|kunnen|mag|mogen|ga|gaan|wil)|(?:daar|hier|dat|dit|daarbij|hierbij|daarmee|hiermee|daarover|hierover) (?:kan|mag|ga|wil) ik)(?: \\p{L}+){0,4}? (?:niet|geen\\p{L}*)(?: \\p{L}+)?? (?:mee |bij |aan )?(?:helpen|doen|geven|leveren|verstrekken|schrijven|maken|beantwoorden|delen|ondersteunen|assisteren|genereren|voldoen|uitvoeren|bieden|verlenen)(?!\\p{L})|(?<!\\p{L})ik (?:moet )?(?:weiger|weigeren|afwijzen)(?!\\p{L})',
        // Indonesian
        '(?<!\\p{L})(?:saya|aku|kami) (?:tidak|tak) (?:dapat|bisa|mampu|akan|diizinkan)(?: \\p{L}+){0,2}? (?:membantu|bantu|memberikan|memberi|menyediakan|menjawab|menulis|membuat|memenuhi|mengabulkan|melakukan|berbagi|membagikan|menjelaskan|menghasilkan)(?!\\p{L})',
        // Polish
        '(?<!\\p{L})nie (?:mogę|jestem w stanie|będę)(?: \\p{L}+){0,2}? (?:pomóc|pomagać|udzielić|dostarczyć|podać|napisać|stworzyć|wygenerować|odpowiedzieć|spełnić|zrobić|wykonać|udostępnić|przygotować|wyjaśnić)(?!\\p{L})|(?<!\\p{L})(?:muszę odmówić|odmawiam)(?!\\p{L})',
      ].join('|'),
      'u',
    ),
  },
  {
    // An apology with a first-person inability in another language, as apology_inability: a refusal unless the
    // response goes on to answer ("Mi dispiace, non posso garantire che funzioni, ma ecco il codice: ...").
    rule: 'multilingual_apology',
    re: new RegExp(`(?:${APOLOGY_ML})[^.!?。！？]{0,80}?(?:${INABILITY_ML})`, 'u'),
    continuation: true,
  },
];

/** A first-person inability anywhere: used to tell "disclaimer, then answer" from "disclaimer, then decline". */
const ANY_INABILITY = new RegExp(`${SUBJECT}${INABILITY}`);
/** What a declining verb may give that is a promise, not the request: "I can't give you a legal guarantee, but …". */
const PROMISE_OBJECT =
  /^\s*(?:(?:you|me|us)\s+)?(?:(?:a|an|any)\s+)?(?:[\w-]+\s+)?(?:guarantee|promise|warranty|assurance|certainty|definitive|exact|precise|firm)\b/;
/**
 * What a declining verb may decline that is the way asked, not the need: "I can't help with that specific request as
 * written, …, but here is the same call with fetch", "I can't help with that exact approach, but here's one that
 * works". Followed by an answer it is none (as a promise disclaimed is none); followed by an alternative offer it is.
 */
const METHOD_OBJECT =
  /^\s*(?:you\s+)?(?:with\s+)?(?:that|this|the|your)\s+(?:(?:specific|exact|particular|precise)\b|(?:way|approach|method)\b)|^[^.!?,]{0,40}?\bas (?:written|asked|stated|phrased|worded|described)\b/;
/** Idioms built on "can't" that never decline. */
const IDIOM =
  /\b(?:can't|cannot|can not) (?:help but|help (?:feeling|thinking|wondering|noticing)|stress|emphasi[sz]e|overstate|thank|wait|believe|resist|tell you how (?:much|happy|glad|grateful|excited|pleased|relieved)|recommend [^.!?]{0,60}enough)/;

/** Removes what the model quotes or shows as code, so reported refusals are not taken for the model's own. */
function unquoted(text: string): string {
  // Each pattern starts with its quote character: a text without it is left as it is, without a scan.
  let t = text;
  if (t.includes('`')) t = t.replace(/```[\s\S]*?(?:```|$)/g, ' ').replace(/`[^`\n]*`/g, ' ');
  if (t.includes('~~~')) t = t.replace(/~~~[\s\S]*?(?:~~~|$)/g, ' ');
  if (t.includes('>')) t = t.replace(/^\s*>.*$/gm, ' ');
  if (t.includes('"')) t = t.replace(/"[^"\n]{0,600}"/g, ' ');
  // Single quotes: an opening one after no letter or digit, a closing one before none, apostrophes inside kept
  // ('I can't help with that'); an apostrophe in a word (can't, students') opens nothing.
  if (t.includes("'")) t = t.replace(/(?<![\p{L}\p{N}])'(?=\S)(?:[^'\n]|'(?=\p{L})){1,600}?'(?![\p{L}\p{N}])/gu, ' ');
  if (t.includes('“')) t = t.replace(/“[^”]{0,600}”/g, ' ');
  if (t.includes('«')) t = t.replace(/«[^»]{0,600}»/g, ' ');
  if (t.includes('「')) t = t.replace(/「[^」]{0,600}」/g, ' ');
  // An example the answer gives, unquoted, to the end of its line: "For example: I'm sorry, but I can't take on …"
  // (a how-to about declining); the model's own decline comes before its examples.
  if (t.includes(':'))
    t = t.replace(
      /\b(?:for (?:example|instance)|e\.g\.|such as|something like|(?:you|they) (?:could|can|might) (?:say|write|reply|respond)(?: with)?|try (?:saying|writing|replying)(?: something like)?)\s*:[^\n]*/gi,
      ' ',
    );
  return t;
}

/** The opening a refusal would sit in: the first three sentences within the first 400 characters. */
function opening(text: string): string {
  const head = text.slice(0, 400);
  const parts = head.split(/(?<=[.!?。！？])\s*/);
  return parts.slice(0, 3).join(' ');
}

/**
 * Words at least one rule needs (each rule's every alternative holds one of them): a response without any in its
 * first 2,000 characters (lowercased, curly apostrophes straightened) cannot match, so most answers skip the
 * unquoting and the rules. Single words only, matched on the raw text: unquoting and collapsing whitespace never
 * join letters, so they cannot make one of these words that was not already there. A \b only where every rule
 * has a space there ("not" may run on: "we will notI'm" matches "will not").
 */
const MAY_DECLINE =
  /can't|won't|shouldn't|don't|isn't|cannot|\bnot|unable|decline|refuse|\bpass\b|say\s+no\b|outside|appropriate|polic|guideline|\bterms\b|principles|programming|\brules\b|puedo|podemos|podré|voy|posible|impossib|möglich|condiciones|capaz|niego|rechaz|declin|peux|pourrai|pouvons|pourrons|vais|allons|mesure|kann|darf|werde|möchte|nicht|keine|lage|ablehn|posso|podemos|poderei|vou|consigo|condições|possível|recus|possiamo|grado|riesco|riusciamo|potrò|intendo|intenzione|rifiut|могу|можем|смогу|сможем|буду|стану|состояни|имею|вынужден|отказ|없|어렵|어려|곤란|无法|不能|没办法|不可以|不会|無法|沒辦法|拒绝|拒絕|できません|しかねます|できかねます|お断り|没法|控えさせて|差し控え|超出|preferisc|preferire|prefier|préf|prefiro|preferiria|\bnahi|sakt|sakega|paung|paayeng|payeng|sambhav|mumkin|لا|لن|لست|يتعذر|يتعذّر|नहीं|असमर्थ|amam|emem|amıyorum|emiyorum|amayacağım|emeyeceğim|reddet|không|từ chối|niet|geen|tidak|\btak\b|\bnie\b|odmaw|permiss|permiso|autoriz|droit|berechtigung|erlaubnis|emergency|crisis|poison|suicid|helpline|hotline|lifeline|samaritans|\b(?:988|911|999|112)\b/;

/** A fenced block's opening line at the start of a response: its language tag. */
const FENCE_OPEN = /^\s*(?:```|~~~)([\w+-]*)[^\S\n]*\n/;

/**
 * A response that is one fenced block and nothing else: its language tag and its inside (without the line break and
 * blanks before the closing fence). Read in linear time: one regular expression for the whole (a lazy inside, then
 * blanks before the closing fence) took 10 s on a 49 KB answer of an opening fence and spaces.
 */
function soleFence(text: string): [tag: string, inner: string] | null {
  const open = FENCE_OPEN.exec(text);
  if (!open) return null;
  const end = text.trimEnd();
  const close = end.length - 3;
  if (close < open[0].length) return null;
  const fence = end.slice(close);
  if (fence !== '```' && fence !== '~~~') return null;
  let i = close;
  while (i > open[0].length && /[^\S\n]/.test(end[i - 1] as string)) i--;
  if (i > open[0].length && end[i - 1] === '\n') i--;
  return [open[1] as string, end.slice(open[0].length, i)];
}
/** Keys under which a tool call carries what the model writes for the tool, not to the user. */
const TOOL_ARGUMENT_KEYS = new Set([
  'arguments',
  'args',
  'parameters',
  'params',
  'input',
  'tool_input',
  'action_input',
]);
const TOOL_NAME_KEYS = ['name', 'tool', 'tool_name', 'function', 'action'];

/**
 * The words that are the model's own: a JSON answer's values (its double quotes are no quotation), also when the
 * whole answer is one fenced block (```json … ```, as models often wrap it), but not a tool call's arguments (an
 * e-mail the model drafts for a send_email tool says "Sorry, I can't make Friday" to its addressee, not to the user;
 * a ReAct "Final Answer" action is the answer itself); a sole fenced block of prose (no tag, text or markdown) is read
 * as prose. Anything else is returned as it is.
 */
function ownWords(text: string): string {
  if (text.length > 50_000) return text;
  const fence = soleFence(text);
  const inner = fence ? fence[1] : text;
  const t = inner.trim();
  if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) {
    let value: unknown;
    try {
      value = JSON.parse(t);
    } catch {
      value = undefined;
    }
    if (value !== undefined) return jsonAnswerText(JSON.stringify(withoutToolArguments(value, 0))) ?? text;
  }
  if (fence && /^(?:|text|txt|plain|plaintext|markdown|md)$/i.test(fence[0])) return inner;
  return text;
}

function withoutToolArguments(v: unknown, depth: number): unknown {
  if (depth > 64 || !v || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => withoutToolArguments(x, depth + 1));
  const o = v as Record<string, unknown>;
  const named = TOOL_NAME_KEYS.find((k) => typeof o[k] === 'string' || (o[k] && typeof o[k] === 'object'));
  const finalAnswer = typeof o.action === 'string' && /^final[ _-]?answer$/i.test(o.action);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) {
    if (named && !finalAnswer && TOOL_ARGUMENT_KEYS.has(k.toLowerCase())) continue;
    out[k] = withoutToolArguments(x, depth + 1);
  }
  return out;
}

/** Classifies response text as a refusal or not, saying which rule matched. */
export function classifyRefusal(text: string | null | undefined): RefusalVerdict {
  if (!text) return { refusal: false };
  if (!MAY_DECLINE.test(text.slice(0, 2000).replace(/[’‘]/g, "'").toLowerCase())) return { refusal: false };
  return classifyRefusalFully(text);
}

/** classifyRefusal without the word check that lets most answers out early (for tests that it changes nothing). */
export function classifyRefusalFully(text: string | null | undefined): RefusalVerdict {
  if (!text) return { refusal: false };
  // An answer in JSON mode is read as its values, the model's own words (its double quotes are no quotation):
  // {"answer": "I'm sorry, but I can't help with that."} declines.
  const own = ownWords(text);
  // Refusals sit in the opening; 2,000 characters leave room for quotes and code that precede it.
  const clean = unquoted(own.slice(0, 2000).replace(/[’‘]/g, "'")).replace(/\s+/g, ' ').trim();
  if (!clean) return { refusal: false };
  const lower = clean.toLowerCase();
  const head = opening(lower);
  for (const { rule, re, continuation } of RULES) {
    const m = re.exec(head);
    if (!m) continue;
    if (IDIOM.test(head.slice(Math.max(0, m.index - 5), m.index + m[0].length + 80))) {
      // "I can't stress enough ..." — look past the idiom for a real decline later in the opening.
      const rest = head.slice(m.index + m[0].length);
      if (!re.test(rest)) continue;
    }
    // "I can't give you a guarantee / an exact figure, but …" disclaims, as "I can't guarantee" does.
    const object = head.slice(m.index + m[0].length);
    const disclaims = rule === 'decline_verb' && (PROMISE_OBJECT.test(object) || METHOD_OBJECT.test(object));
    if ((continuation || disclaims) && answersAfter(lower, m.index + m[0].length, hasFence(own))) continue;
    return { refusal: true, rule, match: m[0].trim() };
  }
  return { refusal: false };
}

/** Whether the text holds a fenced block (unquoting removes it; an answer of code is still an answer). */
function hasFence(text: string): boolean {
  const i = text.indexOf('```');
  return i !== -1 && text.indexOf('```', i + 3) !== -1;
}

/**
 * True when, after a disclaimer, the response goes on to answer: a dozen words or more, or a fenced block of code
 * (`fenced`, removed from `lower` with the rest of what is quoted), with no further decline.
 */
function answersAfter(lower: string, from: number, fenced = false): boolean {
  // Skip to the end of the disclaimer's clause.
  const rest = lower.slice(from);
  const turn =
    /,\s*(?:but|however|though|so)\b|[.!?:;]\s|[。！？：；]|[,，]\s*(?:pero|sin embargo|mais|cependant|aber|jedoch|mas|porém|contudo|ma|però|tuttavia|но|однако|但|不过|不過|然而)(?![\p{L}'])|(?<!\p{L})(?:하지만|다만|그러나)(?!\p{L})/u.exec(
      rest,
    );
  if (!turn) return false;
  const after = rest.slice(turn.index + turn[0].length);
  if (ANY_INABILITY.test(after.slice(0, 200)) || ANY_INABILITY_ML.test(after.slice(0, 200))) return false;
  // Chinese and Japanese do not space their words: two of their characters count as one word.
  const cjk = (after.match(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/gu) ?? []).length;
  const n = after.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length + Math.floor(cjk / 2);
  return n >= 12 || (fenced && n >= 3);
}

export interface RefusalSignals {
  text: string | null | undefined;
  finishReason?: string | null;
  /** The provider returned a refusal field (OpenAI structured refusals). */
  refusalField?: boolean;
}

/** All signals together: provider flags first, then the phrase classifier. */
export function detectRefusal(s: RefusalSignals): RefusalVerdict & { source?: RefusalSource } {
  if (s.finishReason === 'content_filter') return { refusal: true, source: 'content_filter', rule: 'content_filter' };
  if (s.refusalField) return { refusal: true, source: 'refusal_field', rule: 'refusal_field' };
  const v = classifyRefusal(s.text);
  return v.refusal ? { ...v, source: 'phrase' } : v;
}

/** Where the refusal enricher leaves its verdict for the quality sink (call.internal.hooks). */
export const REFUSAL_HOOK = 'quality.refusal';

/**
 * The enricher that sets `call.refusal` from the output text and finish reason. It must run before the
 * `content` enricher clears the text, so the quality module adds it when it is built.
 */
export function refusalEnricher(): Enricher {
  return {
    name: 'refusal',
    enrich(call: LlmCall) {
      if (call.endpoint === 'embeddings') return;
      const text = call.internal?.outputText ?? call.content?.output ?? null;
      const providerFlag = call.refusal;
      const v = detectRefusal({
        text,
        finishReason: call.finishReason,
        refusalField: providerFlag && call.finishReason !== 'content_filter',
      });
      if (!v.refusal) return;
      call.refusal = true;
      if (call.internal) {
        call.internal.hooks ??= {};
        call.internal.hooks[REFUSAL_HOOK] = { source: v.source, rule: v.rule, match: v.match };
      }
    },
  };
}
