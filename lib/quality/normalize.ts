/**
 * An English text normalizer for word error rate, in the spirit of the English normalizer of
 * OpenAI's Whisper (written afresh here, not a copy of it). It maps two spellings of the same
 * spoken words to one form, so that WER counts recognition errors and not house style.
 * Reference and hypothesis always go through the same rules, so where a rule is a convention
 * (`can't` → `can not`, `'d` → `would`) only its consistency matters.
 *
 * The rules, in the order they run:
 *
 * | #  | rule | example |
 * | -- | --- | --- |
 * | 1  | Unicode compatibility forms decomposed, diacritics dropped, curly quotes and backticks made `'` | `Café ’twas` → `cafe 'twas` |
 * | 2  | lowercase | `The Fox` → `the fox` |
 * | 3  | text in `[...]`, `(...)`, `<...>`, `{...}` removed (annotations such as `[MUSIC]`, `(laughs)`) | `hi [noise] there` → `hi there` |
 * | 4  | currency: `$` `£` `€` before an amount become `dollars`, `pounds`, `euros` after it (singular for exactly 1); two decimal places become cents (pence for `£`); `thousand`/`million`/… after the amount stay before the unit | `$5` → `5 dollars`, `$1` → `1 dollar`, `$5.50` → `5 dollars 50 cents`, `$0.25` → `25 cents`, `£2.5 million` → `2500000 pounds` |
 * | 5  | `N¢` → `N cents`; `%` → `percent`; `per cent` → `percent`; `&` → `and` | `50%` → `50 percent`, `R&D` → `r and d` |
 * | 6  | digit grouping commas dropped; a colon between digits dropped (so a clock time reads like its spoken form, see rule 13) | `1,000,000` → `1000000`, `5:30` → `530` |
 * | 7  | dotted abbreviations joined | `a.m.` → `am`, `U.S.A.` → `usa`, `e.g.` → `eg` |
 * | 8  | every other punctuation mark or symbol becomes a space, hyphens and slashes included; a `.` between two digits is kept as the decimal point; apostrophes are kept until rule 10 | `well-known, yes!` → `well known yes`, `3.5` → `3.5` |
 * | 9  | contractions expanded (tables {@link CONTRACTIONS} and the suffix rules): `won't` → `will not`, `can't` and `cannot` → `can not`, `shan't` → `shall not`, `let's` → `let us`, `y'all` → `you all`, `ma'am` → `madam`, `'em` → `them`, `o'clock` → `oclock`, `ain't` → `aint`, `gonna` → `going to`, `wanna` → `want to`, `gotta` → `got to`; then `n't` → ` not`, `'re` → ` are`, `'ll` → ` will`, `'ve` → ` have`, `'d` → ` would`, `'m` → ` am`, and `'s` → ` is` after it, he, she, that, this, there, here, what, where, who, how, when, why | `it's` → `it is`, `don't` → `do not`, `we'll` → `we will`, `I'd` → `i would` |
 * | 10 | every remaining apostrophe deleted (possessives keep their `s`) | `john's` → `johns`, `the dogs'` → `the dogs`, `'hello'` → `hello` |
 * | 11 | filler words removed: uh, uhh, uhm, um, umm, hm, hmm, mm, mmm, mhm, ah, ahh, er, erm (table {@link FILLER_WORDS}; `oh` is a word and stays) | `um I uh think` → `i think` |
 * | 12 | British spellings made American, and a few abbreviations spelled out (table {@link SPELLINGS}: colour → color, centre → center, realise → realize, travelled → traveled, grey → gray …; mr → mister, mrs → missus, dr → doctor, vs → versus, ok → okay) | `my favourite colour` → `my favorite color` |
 * | 13 | spelled numbers become digits (see below) | `twenty one` → `21`, `five` → `5` |
 * | 14 | `dollars and N cents` loses its `and`; the ordinal `2nd` is written `second` (the word is ambiguous: "a second") | `one dollar and fifty cents` → `1 dollar 50 cents` |
 * | 15 | whitespace collapsed to single spaces, trimmed | |
 *
 * Numbers (rule 13):
 *
 * | input | output | rule |
 * | --- | --- | --- |
 * | `zero` … `nine`, `ten` … `nineteen`, `twenty` … `ninety` | `0` … `90` | words to digits |
 * | `twenty one`, `ninety nine` | `21`, `99` | tens then ones add |
 * | `one hundred and five`, `a hundred`, `two thousand twenty`, `three million two hundred thousand` | `105`, `100`, `2020`, `3200000` | hundred/thousand/million/billion/trillion multiply; `and` after them is absorbed; `a` before them is one |
 * | `5 million`, `2.5 thousand`, `two point five million` | `5000000`, `2500`, `2500000` | digits or a decimal before a multiplier |
 * | `three point one four` | `3.14` | `point` after a number, then digit words |
 * | `nineteen ninety nine`, `twenty twenty`, `five thirty`, `nineteen oh five`, `nineteen eighties` | `1999`, `2020`, `530`, `1905`, `1980s` | a number under 100 followed by one from 10 to 99 (or `oh` and a digit) is read as digit pairs: years and clock times; any such run pairs, once (`ten thirteen` → `1013`, `eleven twelve thirteen` → `1112 13`) |
 * | `first`, `twenty first`, `one hundred and third`, `fiftieth`, `hundredth` | `1st`, `21st`, `103rd`, `50th`, `100th` | ordinals to digits with suffix; `second` only after a number (`twenty second` → `22nd`), alone it stays a word |
 * | `twenties`, `nineties` | `20s`, `90s` | plural decades |
 * | `one two three`, `five six` | `1 2 3`, `5 6` | digits that cannot combine stay apart |
 *
 * Not handled (stays as written): fractions (`a half`), negative numbers, `double`/`triple`,
 * Roman numerals, times written `5:00` against `five o'clock` (`500` vs `5 oclock`), numbers
 * in other languages. `'s` is always `is` after the pronouns above (`he's been` → `he is been`)
 * and `'d` is always `would` (`I'd gone` → `i would gone`), on both sides alike.
 */
import { invalidArgument } from '../errors.js';
import { numbersToDigits } from './numbers.js';

/** Whole-word contractions and informal forms, matched before the suffix rules (rule 9). */
export const CONTRACTIONS: Readonly<Record<string, string>> = {
  "won't": 'will not',
  "can't": 'can not',
  cannot: 'can not',
  "shan't": 'shall not',
  "ain't": 'aint',
  "let's": 'let us',
  "y'all": 'you all',
  "ma'am": 'madam',
  "'em": 'them',
  "o'clock": 'oclock',
  gonna: 'going to',
  wanna: 'want to',
  gotta: 'got to',
  kinda: 'kind of',
  sorta: 'sort of',
  lemme: 'let me',
  gimme: 'give me',
};

/** Words after which `'s` means `is` (rule 9); elsewhere `'s` is a possessive and keeps its `s`. */
export const S_IS_AFTER: ReadonlySet<string> = new Set(['it', 'he', 'she', 'that', 'this', 'there', 'here', 'what', 'where', 'who', 'how', 'when', 'why']);

/** Filler words and hesitations removed (rule 11). */
export const FILLER_WORDS: ReadonlySet<string> = new Set(['uh', 'uhh', 'uhm', 'um', 'umm', 'hm', 'hmm', 'hmmm', 'mm', 'mmm', 'mhm', 'ah', 'ahh', 'er', 'erm']);

/** British spellings with the inflections listed, each mapped to its American spelling. */
function forms(british: string, american: string, suffixes: string[]): [string, string][] {
  return suffixes.map((s) => [british + s, american + s]);
}
const OUR = ['', 's', 'ed', 'ing'];
const ISE_STEM = ['e', 'es', 'ed', 'ing', 'ation', 'ations'];
const TRE = ['', 's'];
/** travel → travelled/traveled, travelling/traveling, traveller(s)/traveler(s). */
function doubledL(stem: string): [string, string][] {
  return ['ed', 'ing', 'er', 'ers'].map((s) => [`${stem}l${s}`, stem + s]);
}

/** British → American spellings and abbreviations spelled out (rule 12), one word at a time. */
export const SPELLINGS: Readonly<Record<string, string>> = Object.fromEntries([
  // -our → -or
  ...forms('colour', 'color', [...OUR, 'ful']),
  ...forms('favour', 'favor', [...OUR, 'able']),
  ...forms('favourite', 'favorite', TRE),
  ...forms('honour', 'honor', [...OUR, 'able']),
  ...forms('labour', 'labor', [...OUR, 'er', 'ers']),
  ...forms('neighbour', 'neighbor', [...TRE, 'hood', 'hoods', 'ing']),
  ...forms('behaviour', 'behavior', [...TRE, 'al']),
  ...forms('humour', 'humor', [...OUR]),
  ...forms('flavour', 'flavor', [...OUR]),
  ...forms('harbour', 'harbor', [...OUR]),
  ...forms('rumour', 'rumor', [...OUR]),
  ...forms('armour', 'armor', TRE),
  ...forms('vapour', 'vapor', TRE),
  ...forms('endeavour', 'endeavor', [...OUR]),
  // -re → -er
  ...forms('centre', 'center', [...TRE, 'd']),
  ...forms('metre', 'meter', TRE),
  ...forms('kilometre', 'kilometer', TRE),
  ...forms('centimetre', 'centimeter', TRE),
  ...forms('litre', 'liter', TRE),
  ...forms('theatre', 'theater', TRE),
  ...forms('fibre', 'fiber', TRE),
  ...forms('calibre', 'caliber', TRE),
  ...forms('sombre', 'somber', ['']),
  // -ise → -ize, -yse → -yze
  ...forms('realis', 'realiz', ISE_STEM),
  ...forms('organis', 'organiz', [...ISE_STEM, 'er', 'ers']),
  ...forms('recognis', 'recogniz', ISE_STEM),
  ...forms('apologis', 'apologiz', ISE_STEM),
  ...forms('emphasis', 'emphasiz', ['e', 'es', 'ed', 'ing']),
  ...forms('criticis', 'criticiz', ['e', 'es', 'ed', 'ing']),
  ...forms('summaris', 'summariz', ['e', 'es', 'ed', 'ing']),
  ...forms('minimis', 'minimiz', ['e', 'es', 'ed', 'ing']),
  ...forms('maximis', 'maximiz', ['e', 'es', 'ed', 'ing']),
  ...forms('analys', 'analyz', ['e', 'ed', 'ing']),
  ...forms('paralys', 'paralyz', ['e', 'ed', 'ing']),
  // -ence → -ense
  ...forms('defence', 'defense', TRE),
  ...forms('offence', 'offense', TRE),
  ...forms('licence', 'license', TRE),
  ...forms('pretence', 'pretense', TRE),
  // doubled l
  ...doubledL('travel'),
  ...doubledL('cancel'),
  ...doubledL('label'),
  ...doubledL('model'),
  ...doubledL('fuel'),
  ...doubledL('marvel'),
  ['jewellery', 'jewelry'],
  ['enrol', 'enroll'],
  ['enrolment', 'enrollment'],
  ['fulfil', 'fulfill'],
  ['fulfilment', 'fulfillment'],
  ['skilful', 'skillful'],
  // single words
  ['grey', 'gray'],
  ['greys', 'grays'],
  ['programme', 'program'],
  ['programmes', 'programs'],
  ['catalogue', 'catalog'],
  ['catalogues', 'catalogs'],
  ['cheque', 'check'],
  ['cheques', 'checks'],
  ['tyre', 'tire'],
  ['tyres', 'tires'],
  ['aluminium', 'aluminum'],
  ['aeroplane', 'airplane'],
  ['aeroplanes', 'airplanes'],
  ['ageing', 'aging'],
  ['judgement', 'judgment'],
  ['manoeuvre', 'maneuver'],
  ['manoeuvres', 'maneuvers'],
  ['pyjamas', 'pajamas'],
  ['sceptical', 'skeptical'],
  ['moustache', 'mustache'],
  ['plough', 'plow'],
  ['mum', 'mom'],
  ['mums', 'moms'],
  ['whilst', 'while'],
  ['amongst', 'among'],
  // abbreviations
  ['mr', 'mister'],
  ['mrs', 'missus'],
  ['dr', 'doctor'],
  ['vs', 'versus'],
  ['ok', 'okay'],
]);

// ---------------------------------------------------------------------------------------------
// the pipeline

const CURRENCY: Record<string, [one: string, many: string, subunit: string]> = {
  $: ['dollar', 'dollars', 'cents'],
  '£': ['pound', 'pounds', 'pence'],
  '€': ['euro', 'euros', 'cents'],
};

function currency(symbol: string, amount: string, mult: string | undefined): string {
  const [one, many, sub] = CURRENCY[symbol];
  const plain = amount.replace(/,/g, '');
  if (mult) return ` ${plain} ${mult} ${many} `;
  const m = /^(\d*)\.(\d\d)$/.exec(plain);
  if (m) {
    const whole = Number(m[1] || '0');
    const cents = Number(m[2]);
    const unit = whole === 1 ? one : many;
    const subunit = cents === 1 ? (sub === 'pence' ? 'penny' : 'cent') : sub;
    if (cents === 0) return ` ${whole} ${unit} `;
    if (whole === 0) return ` ${cents} ${subunit} `;
    return ` ${whole} ${unit} ${cents} ${subunit} `;
  }
  return ` ${plain} ${Number(plain) === 1 ? one : many} `;
}

/** Expands one token's contraction (rule 9); returns it unchanged when it has none. */
function expandContraction(token: string): string {
  if (Object.prototype.hasOwnProperty.call(CONTRACTIONS, token)) return CONTRACTIONS[token];
  const t = token.replace(/^'+|'+$/g, '');
  if (t !== token && Object.prototype.hasOwnProperty.call(CONTRACTIONS, t)) return CONTRACTIONS[t];
  let m: RegExpExecArray | null;
  if ((m = /^(.+)n't$/.exec(t))) return `${m[1]} not`;
  if ((m = /^(.+)'re$/.exec(t))) return `${m[1]} are`;
  if ((m = /^(.+)'ll$/.exec(t))) return `${m[1]} will`;
  if ((m = /^(.+)'ve$/.exec(t))) return `${m[1]} have`;
  if ((m = /^(.+)'d$/.exec(t))) return `${m[1]} would`;
  if ((m = /^(.+)'m$/.exec(t))) return `${m[1]} am`;
  if ((m = /^(.+)'s$/.exec(t)) && S_IS_AFTER.has(m[1])) return `${m[1]} is`;
  return t;
}

/** Normalizes English text for WER: the rules in this module's doc comment, in that order. */
export function normalizeText(text: string): string {
  return normalizeWords(text).join(' ');
}

/** {@link normalizeText} as a list of words. */
export function normalizeWords(text: string): string[] {
  if (typeof text !== 'string') throw invalidArgument('text', text, 'a string');
  // 1. compatibility forms, diacritics, quotes
  let s = text.normalize('NFKD').replace(/\p{M}+/gu, '').replace(/[\u2018\u2019\u201B\u02BC\u2032`\u00B4]/g, "'");
  // 2. lowercase
  s = s.toLowerCase();
  // 3. annotations in brackets
  s = s.replace(/\[[^\]]*\]|\([^)]*\)|<[^>]*>|\{[^}]*\}/g, ' ');
  // 4. currency
  s = s.replace(/([$£€])\s?(\d[\d,]*(?:\.\d+)?|\.\d+)(?:\s+(thousand|million|billion|trillion)\b)?/g, (_m, sym: string, amount: string, mult?: string) =>
    currency(sym, amount.startsWith('.') ? '0' + amount : amount, mult),
  );
  // 5. cents, percent, ampersand
  s = s.replace(/(\d)\s?¢/g, '$1 cents ').replace(/%/g, ' percent ').replace(/\bper\s+cent\b/g, 'percent').replace(/&/g, ' and ');
  // 6. digit grouping, clock times
  s = s.replace(/(?<=\d),(?=\d{3}(?!\d))/g, '').replace(/(?<=\d):(?=\d\d(?!\d))/g, '');
  // 7. dotted abbreviations
  s = s.replace(/(?<![\p{L}\p{N}])\p{L}(?:\.\p{L})+\.?(?![\p{L}\p{N}])/gu, (m) => m.replace(/\./g, ''));
  // 8. punctuation and symbols to spaces, keeping apostrophes and decimal points
  s = s.replace(/(?<!\d)\.|\.(?!\d)/g, ' ').replace(/[^\p{L}\p{N}'.\s]/gu, ' ');
  // 9–10. contractions, then the apostrophes left
  let words = s
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((w) => expandContraction(w).replace(/'/g, '').split(' '))
    .filter(Boolean);
  // 11. fillers
  words = words.filter((w) => !FILLER_WORDS.has(w));
  // 12. spellings and abbreviations
  words = words.map((w) => (Object.prototype.hasOwnProperty.call(SPELLINGS, w) ? SPELLINGS[w] : w)).flatMap((w) => w.split(' '));
  // 13. numbers
  words = numbersToDigits(words);
  // 14. "dollars and 50 cents", the ambiguous 2nd
  words = words.filter((w, k) => !(w === 'and' && /^(dollars?|pounds?|euros?)$/.test(words[k - 1] ?? '') && /^\d+$/.test(words[k + 1] ?? '') && /^(cents?|pence|penny)$/.test(words[k + 2] ?? '')));
  words = words.map((w) => (w === '2nd' ? 'second' : w));
  // 15. whitespace: the words are already single tokens
  return words;
}
