// The English normalizer: one block per rule of the table in lib/quality/normalize.ts.
import { describe, expect, it } from 'vitest';

import { WhisperPerfError } from '../../lib/errors.js';
import { CONTRACTIONS, FILLER_WORDS, SPELLINGS, normalizeText, normalizeWords } from '../../lib/quality/normalize.js';
import { ordinalSuffix } from '../../lib/quality/numbers.js';

const n = normalizeText;

describe('normalizeText', () => {
  it('the acceptance pair normalizes to the same words', () => {
    expect(n("It's 5 o'clock.")).toBe('it is 5 oclock');
    expect(n("it is five o'clock")).toBe('it is 5 oclock');
  });

  it('1. drops diacritics, decomposes compatibility forms and straightens quotes', () => {
    expect(n('Café naïve résumé')).toBe('cafe naive resume');
    expect(n('it’s ‘quoted’')).toBe('it is quoted');
    expect(n('ﬁne')).toBe('fine'); // the fi ligature
    expect(n('x²')).toBe('x2');
  });

  it('2. lowercases', () => {
    expect(n('The QUICK Brown')).toBe('the quick brown');
  });

  it('3. removes annotations in brackets', () => {
    expect(n('hi [MUSIC] there (laughs) you <unk> all {noise}')).toBe('hi there you all');
  });

  it('4. writes currency amounts as words after the number', () => {
    expect(n('$5')).toBe('5 dollars');
    expect(n('$1')).toBe('1 dollar');
    expect(n('$5.50')).toBe('5 dollars 50 cents');
    expect(n('$1.01')).toBe('1 dollar 1 cent');
    expect(n('$0.25')).toBe('25 cents');
    expect(n('$.50')).toBe('50 cents');
    expect(n('$3.00')).toBe('3 dollars');
    expect(n('$1,250')).toBe('1250 dollars');
    expect(n('$1.5')).toBe('1.5 dollars');
    expect(n('£2.5 million')).toBe('2500000 pounds');
    expect(n('£3.20')).toBe('3 pounds 20 pence');
    expect(n('€10')).toBe('10 euros');
    // the spoken forms meet the written ones
    expect(n('five dollars')).toBe(n('$5'));
    expect(n('one dollar and fifty cents')).toBe(n('$1.50'));
    expect(n('five million dollars')).toBe(n('$5 million'));
  });

  it('5. cents, percent, per cent and ampersand', () => {
    expect(n('50¢')).toBe('50 cents');
    expect(n('50%')).toBe('50 percent');
    expect(n('fifty per cent')).toBe('50 percent');
    expect(n('12.5 %')).toBe('12.5 percent');
    expect(n('R&D')).toBe('r and d');
  });

  it('6. drops digit grouping commas and the colon of a clock time', () => {
    expect(n('1,000,000 people')).toBe('1000000 people');
    expect(n('5:30')).toBe('530');
    expect(n('5:30')).toBe(n('five thirty'));
    expect(n('1, 2, 3')).toBe('1 2 3'); // a list is not a grouping
  });

  it('7. joins dotted abbreviations', () => {
    expect(n('at 5 a.m. in the U.S.A., e.g. here')).toBe('at 5 am in the usa eg here');
    expect(n('file.txt')).toBe('file txt');
  });

  it('8. turns punctuation and symbols into spaces, keeping decimal points', () => {
    expect(n('well-known, yes! no? "quoted"; a/b — c…')).toBe('well known yes no quoted a b c');
    expect(n('pi is 3.14.')).toBe('pi is 3.14');
    expect(n('end.')).toBe('end');
  });

  it('9. expands contractions', () => {
    expect(n("won't can't cannot shan't")).toBe('will not can not can not shall not');
    expect(n("can't")).toBe(n('can not'));
    expect(n("let's y'all ma'am")).toBe('let us you all madam');
    expect(n("tell 'em")).toBe('tell them');
    expect(n("ain't")).toBe('aint');
    expect(n('gonna wanna gotta kinda sorta lemme gimme')).toBe('going to want to got to kind of sort of let me give me');
    expect(n("don't isn't wouldn't")).toBe('do not is not would not');
    expect(n("they're we'll I've I'd I'm")).toBe('they are we will i have i would i am');
    expect(n("it's he's she's that's there's what's who's")).toBe('it is he is she is that is there is what is who is');
    expect(n("could've")).toBe('could have');
    for (const [k, v] of Object.entries(CONTRACTIONS)) expect(n(k), k).toBe(n(v));
  });

  it("10. deletes the apostrophes left: possessives keep their s", () => {
    expect(n("John's dog")).toBe('johns dog');
    expect(n("the dogs' bowls")).toBe('the dogs bowls');
    expect(n("'hello'")).toBe('hello');
    expect(n("the 1990's")).toBe('the 1990s');
    expect(n("rock 'n' roll")).toBe('rock n roll');
  });

  it('11. removes filler words but keeps oh', () => {
    expect(n('um I uh think hmm mm ah er erm so')).toBe('i think so');
    expect(n('Uhh, umm, mhm.')).toBe('');
    expect(n('oh no')).toBe('oh no');
    for (const w of FILLER_WORDS) expect(n(`a ${w} b`), w).toBe('a b');
  });

  it('12. makes British spellings American and spells out abbreviations', () => {
    expect(n('My favourite colour is grey')).toBe('my favorite color is gray');
    expect(n('I realised the centre travelled')).toBe('i realized the center traveled');
    expect(n('colours coloured colourful organisation analysed defence metres programme')).toBe(
      'colors colored colorful organization analyzed defense meters program',
    );
    expect(n('Mr. Smith vs Dr. Jones, Mrs. Lee: OK')).toBe('mister smith versus doctor jones missus lee okay');
    expect(Object.keys(SPELLINGS).length).toBeGreaterThan(80);
    for (const [b, a] of Object.entries(SPELLINGS)) expect(n(b), b).toBe(n(a));
    // American spellings are already canonical
    for (const a of Object.values(SPELLINGS)) expect(SPELLINGS[a], a).toBeUndefined();
  });

  describe('13. numbers', () => {
    it('words to digits', () => {
      expect(n('zero one five nine')).toBe('0 1 5 9');
      expect(n('ten and thirteen and nineteen')).toBe('10 and 13 and 19');
      expect(n('forty')).toBe('40');
      expect(n('five')).toBe(n('5'));
    });
    it('tens then ones add', () => {
      expect(n('twenty one')).toBe('21');
      expect(n('twenty-one')).toBe('21');
      expect(n('ninety nine balloons')).toBe('99 balloons');
    });
    it('multipliers, with and and a', () => {
      expect(n('one hundred and five')).toBe('105');
      expect(n('one hundred five')).toBe('105');
      expect(n('a hundred')).toBe('100');
      expect(n('a thousand and one nights')).toBe('1001 nights');
      expect(n('two thousand twenty')).toBe('2020');
      expect(n('two thousand and five')).toBe('2005');
      expect(n('three million two hundred thousand')).toBe('3200000');
      expect(n('five hundred thousand')).toBe('500000');
      expect(n('nineteen hundred')).toBe('1900');
      expect(n('one billion')).toBe('1000000000');
    });
    it('a lone multiplier or "and" between numbers stays a word', () => {
      expect(n('thousands of people')).toBe('thousands of people');
      expect(n('hundred')).toBe('hundred');
      expect(n('five and six')).toBe('5 and 6');
      expect(n('a cat')).toBe('a cat');
    });
    it('digits or decimals before a multiplier', () => {
      expect(n('5 million')).toBe('5000000');
      expect(n('2.5 thousand')).toBe('2500');
      expect(n('250 thousand')).toBe('250000');
      expect(n('two point five million')).toBe('2500000');
      expect(n('1.2345 thousand')).toBe('1.2345 thousand'); // not a whole number: left alone
    });
    it('decimals', () => {
      expect(n('three point one four')).toBe('3.14');
      expect(n('zero point five')).toBe('0.5');
      expect(n('three point oh two')).toBe('3.02');
      expect(n('the point is')).toBe('the point is');
    });
    it('digit pairs: years and clock times', () => {
      expect(n('nineteen ninety nine')).toBe('1999');
      expect(n('twenty twenty')).toBe('2020');
      expect(n('twenty twenty one')).toBe('2021');
      expect(n('twenty nineteen')).toBe('2019');
      expect(n('five thirty')).toBe('530');
      expect(n('nineteen oh five')).toBe('1905');
      expect(n('nineteen eighties')).toBe('1980s');
      expect(n('in nineteen ninety nine')).toBe(n('in 1999'));
      // the rule reads any such run as pairs, and pairs only once
      expect(n('ten thirteen')).toBe('1013');
      expect(n('eleven twelve thirteen')).toBe('1112 13');
    });
    it('ordinals', () => {
      expect(n('first')).toBe('1st');
      expect(n('twenty first century')).toBe('21st century');
      expect(n('one hundred and third')).toBe('103rd');
      expect(n('fiftieth')).toBe('50th');
      expect(n('eleventh twelfth thirteenth')).toBe('11th 12th 13th');
      expect(n('hundredth')).toBe('100th');
      expect(n('twenty second')).toBe('22nd');
      expect(n('third')).toBe(n('3rd'));
      expect(ordinalSuffix(1)).toBe('st');
      expect(ordinalSuffix(22)).toBe('nd');
      expect(ordinalSuffix(103)).toBe('rd');
      expect(ordinalSuffix(111)).toBe('th');
      expect(ordinalSuffix(112)).toBe('th');
    });
    it('"second" alone is a word, and 2nd is written second', () => {
      expect(n('wait a second')).toBe('wait a second');
      expect(n('one second')).toBe('1 second');
      expect(n('the 2nd time')).toBe('the second time');
      expect(n('the second time')).toBe('the second time');
    });
    it('plural decades', () => {
      expect(n('the twenties and nineties')).toBe('the 20s and 90s');
      expect(n("the '90s")).toBe(n('the nineties'));
    });
    it('digits that cannot combine stay apart', () => {
      expect(n('one two three')).toBe('1 2 3');
      expect(n('five six')).toBe('5 6');
      expect(n('nineteen twenty thousand')).toBe('19 20000');
    });
  });

  it('14. dollars and cents lose their and', () => {
    expect(n('two dollars and five cents')).toBe('2 dollars 5 cents');
    expect(n('dollars and sense')).toBe('dollars and sense');
  });

  it('15. collapses whitespace', () => {
    expect(n('  a \t\n b   c  ')).toBe('a b c');
    expect(n('')).toBe('');
    expect(n(' ... ')).toBe('');
    expect(normalizeWords('a  b')).toEqual(['a', 'b']);
  });

  it('is idempotent', () => {
    for (const s of ["It's 5 o'clock.", 'nineteen ninety nine', '$5.50 and 50%', 'My favourite colour', 'twenty first', 'um the U.S.A.']) {
      expect(n(n(s)), s).toBe(n(s));
    }
  });

  it('rejects a non-string with INVALID_ARGUMENT', () => {
    for (const bad of [5, null, undefined, ['a']]) {
      expect(() => n(bad as unknown as string), String(bad)).toThrow(WhisperPerfError);
      expect(() => n(bad as unknown as string), String(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});
