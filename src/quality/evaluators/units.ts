// Units of measure after a figure, for grounding: an answer that gives the evidence's figure in another unit of the
// same dimension ("40 g" where the source says "40 mg", "25 mph" for "25 km/h", "600 requests per second" for "per
// minute") states another quantity, though every word and figure of it is in the source.

/** Each unit's dimension, its canonical name, and the words (lowercased, as `words` gives them) that write it. */
const UNITS: readonly [dimension: string, canonical: string, spellings: readonly string[]][] = [
  ['mass', 'ug', ['µg', 'mcg', 'microgram', 'micrograms']],
  ['mass', 'mg', ['mg', 'milligram', 'milligrams', 'milligramme', 'milligrammes']],
  ['mass', 'g', ['g', 'gram', 'grams', 'gramme', 'grammes']],
  ['mass', 'kg', ['kg', 'kgs', 'kilogram', 'kilograms', 'kilogramme', 'kilogrammes', 'kilo', 'kilos']],
  ['mass', 't', ['tonne', 'tonnes']],
  ['mass', 'lb', ['lb', 'lbs', 'pound', 'pounds']],
  ['mass', 'oz', ['oz', 'ounce', 'ounces']],
  ['length', 'mm', ['mm', 'millimetre', 'millimetres', 'millimeter', 'millimeters']],
  ['length', 'cm', ['cm', 'centimetre', 'centimetres', 'centimeter', 'centimeters']],
  ['length', 'm', ['m', 'metre', 'metres', 'meter', 'meters']],
  ['length', 'km', ['km', 'kilometre', 'kilometres', 'kilometer', 'kilometers']],
  ['length', 'in', ['inch', 'inches']],
  ['length', 'ft', ['ft', 'foot', 'feet']],
  ['length', 'yd', ['yd', 'yard', 'yards']],
  ['length', 'mi', ['mi', 'mile', 'miles']],
  ['speed', 'kmh', ['kmh', 'kph']],
  ['speed', 'mph', ['mph']],
  ['speed', 'kn', ['knot', 'knots', 'kt', 'kts']],
  ['temperature', 'c', ['c', 'celsius', 'centigrade']],
  ['temperature', 'f', ['f', 'fahrenheit']],
  ['temperature', 'k', ['kelvin']],
  ['volume', 'ml', ['ml', 'millilitre', 'millilitres', 'milliliter', 'milliliters']],
  ['volume', 'l', ['l', 'litre', 'litres', 'liter', 'liters']],
  ['volume', 'gal', ['gal', 'gallon', 'gallons']],
  ['data', 'kb', ['kb', 'kilobyte', 'kilobytes']],
  ['data', 'mb', ['mb', 'megabyte', 'megabytes']],
  ['data', 'gb', ['gb', 'gigabyte', 'gigabytes']],
  ['data', 'tb', ['tb', 'terabyte', 'terabytes']],
  ['data', 'pb', ['pb', 'petabyte', 'petabytes']],
  ['data', 'kib', ['kib', 'kibibyte', 'kibibytes']],
  ['data', 'mib', ['mib', 'mebibyte', 'mebibytes']],
  ['data', 'gib', ['gib', 'gibibyte', 'gibibytes']],
  ['data', 'tib', ['tib', 'tebibyte', 'tebibytes']],
  ['energy', 'wh', ['wh']],
  ['energy', 'kwh', ['kwh']],
  ['energy', 'mwh', ['mwh']],
  ['power', 'w', ['w', 'watt', 'watts']],
  ['power', 'kw', ['kw', 'kilowatt', 'kilowatts']],
  ['time', 'ms', ['ms', 'millisecond', 'milliseconds']],
  ['time', 's', ['s', 'sec', 'secs', 'second', 'seconds']],
  ['time', 'min', ['min', 'mins', 'minute', 'minutes']],
  ['time', 'h', ['h', 'hr', 'hrs', 'hour', 'hours']],
  ['time', 'd', ['day', 'days']],
  ['time', 'wk', ['week', 'weeks']],
  ['time', 'mo', ['month', 'months']],
  ['time', 'yr', ['yr', 'yrs', 'year', 'years']],
];

const BY_WORD = new Map<string, { dimension: string; canonical: string }>();
for (const [dimension, canonical, ws] of UNITS) for (const w of ws) BY_WORD.set(w, { dimension, canonical });

/** Words that make the time unit after them a rate ("per minute", "a week", "each day"). */
const RATE_WORDS = new Set(['per', 'a', 'an', 'each', 'every']);

export interface UnitMention {
  /** The dimension: mass, length, speed, temperature, ..., or rate (a figure per unit of time). */
  dimension: string;
  canonical: string;
}

/**
 * The units written after the figure at token `i` of `ws` (`words(text)`): the word after it ("40 mg", "25 km/h",
 * "250 °C" whose ° `words` drops), or the unit glued to it by a hyphen ("a 36-hour ferment"), and a rate of time within
 * the next four words ("600 requests per minute", "three times a week"). Empty when none is written.
 */
export function unitsAfter(ws: readonly string[], i: number): UnitMention[] {
  const out: UnitMention[] = [];
  const tok = ws[i] as string;
  const glued = /^\d[\d.,]*-([a-z]+)$/.exec(tok);
  const next = glued ? (glued[1] as string) : ws[i + 1];
  let unit = next === undefined ? undefined : BY_WORD.get(next);
  const after = glued ? ws[i + 1] : ws[i + 2];
  // A length per hour or per second is a speed ("25 km/h", "kilometres per hour", "10 m/s").
  if (unit?.dimension === 'length') {
    const per = after === 'per' || after === 'an' || after === 'a' ? ws[glued ? i + 2 : i + 3] : after;
    const t = per === undefined ? undefined : BY_WORD.get(per);
    if (t?.dimension === 'time' && (t.canonical === 'h' || t.canonical === 's'))
      unit = {
        dimension: 'speed',
        canonical: `${unit.canonical}/${t.canonical}`.replace('km/h', 'kmh').replace('mi/h', 'mph'),
      };
  }
  if (unit) out.push(unit);
  for (let j = i + 1; j < Math.min(ws.length - 1, i + 5); j++) {
    // Another figure's rate is its own ("15 seats for $199 a month").
    if (/^-?\d/.test(ws[j] as string)) break;
    if (!RATE_WORDS.has(ws[j] as string)) continue;
    const t = BY_WORD.get(ws[j + 1] as string);
    // "a second" is mostly another time, not a rate.
    if (t?.dimension === 'time' && !((ws[j] === 'a' || ws[j] === 'an') && t.canonical === 's')) {
      out.push({ dimension: 'rate', canonical: t.canonical });
      break;
    }
  }
  return out;
}
