/**
 * Spelled numbers to digits, rule 13 of the WER normalizer (the table of what it reads is at the top
 * of normalize.ts): cardinals, multipliers, decimals, digit pairs (years, clock times), ordinals and
 * plural decades, over a list of lowercase tokens.
 */

const ONES: Record<string, number> = { zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9 };
const TEENS: Record<string, number> = { ten: 10, eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19 };
const TENS: Record<string, number> = { twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90 };
const MULTIPLIERS: Record<string, number> = { hundred: 100, thousand: 1e3, million: 1e6, billion: 1e9, trillion: 1e12 };
const ORDINAL_ONES: Record<string, number> = { first: 1, second: 2, third: 3, fourth: 4, fifth: 5, sixth: 6, seventh: 7, eighth: 8, ninth: 9 };
const ORDINAL_TEENS: Record<string, number> = {
  tenth: 10, eleventh: 11, twelfth: 12, thirteenth: 13, fourteenth: 14, fifteenth: 15, sixteenth: 16, seventeenth: 17, eighteenth: 18, nineteenth: 19,
};
const ORDINAL_TENS: Record<string, number> = { twentieth: 20, thirtieth: 30, fortieth: 40, fiftieth: 50, sixtieth: 60, seventieth: 70, eightieth: 80, ninetieth: 90 };
const ORDINAL_MULTIPLIERS: Record<string, number> = { hundredth: 100, thousandth: 1e3, millionth: 1e6, billionth: 1e9, trillionth: 1e12 };
const PLURAL_TENS: Record<string, number> = { twenties: 20, thirties: 30, forties: 40, fifties: 50, sixties: 60, seventies: 70, eighties: 80, nineties: 90 };

const has = (table: Record<string, number>, w: string | undefined): w is string => w !== undefined && Object.prototype.hasOwnProperty.call(table, w);

/** The English ordinal suffix of n: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st … */
export function ordinalSuffix(n: number): 'st' | 'nd' | 'rd' | 'th' {
  const h = n % 100;
  if (h >= 11 && h <= 13) return 'th';
  return (['th', 'st', 'nd', 'rd'] as const)[n % 10] ?? 'th';
}

/** `int.frac × mult` as an integer string, or null when it is not a whole number. */
function scaleDecimal(int: string, frac: string, mult: number): string | null {
  const zeros = Math.round(Math.log10(mult));
  if (frac.length > zeros) return null;
  const digits = (int + frac + '0'.repeat(zeros - frac.length)).replace(/^0+(?=\d)/, '');
  return digits;
}

type Last = 'none' | 'ones' | 'teen' | 'tens' | 'hundred' | 'big' | 'zero' | 'digits';

interface ParsedNumber {
  /** index after the last token consumed */
  end: number;
  /** the digits (with a decimal point, possibly) */
  text: string;
  value: number;
  suffix: '' | 'st' | 'nd' | 'rd' | 'th' | 's';
  /** one group of 1–99 words with no multiplier, decimal or digits: may pair with the next (years, clock times) */
  small: boolean;
}

/** Reads one spoken number starting at tokens[i]; null when none starts there. */
function parseNumber(tokens: string[], i: number): ParsedNumber | null {
  let total = 0;
  let current = 0;
  let lastBig = Infinity;
  let hundredUsed = false;
  let last: Last = 'none';
  let any = false;
  let multiplied = false;
  let j = i;
  const startsChunk = () => last === 'none' || last === 'hundred' || last === 'big';
  const finish = (suffix: ParsedNumber['suffix'] = ''): ParsedNumber => {
    const value = total + current;
    const small = !multiplied && (last === 'ones' || last === 'teen' || last === 'tens') && value >= 1 && value <= 99;
    return { end: j, text: String(value), value, suffix, small };
  };
  const decimal = (intText: string): ParsedNumber | null => {
    // tokens[j] is "point", followed by at least one digit word
    let frac = '';
    let k = j + 1;
    while (k < tokens.length && (has(ONES, tokens[k]) || tokens[k] === 'oh')) {
      frac += tokens[k] === 'oh' ? '0' : String(ONES[tokens[k]]);
      k++;
    }
    if (!frac) return null;
    const mult = tokens[k];
    if (has(MULTIPLIERS, mult)) {
      const scaled = scaleDecimal(intText, frac, MULTIPLIERS[mult]);
      if (scaled !== null) return { end: k + 1, text: scaled, value: Number(scaled), suffix: '', small: false };
    }
    return { end: k, text: `${intText}.${frac}`, value: Number(`${intText}.${frac}`), suffix: '', small: false };
  };

  // "a hundred", "a million": the article is one
  if (tokens[j] === 'a' && has(MULTIPLIERS, tokens[j + 1])) {
    current = 1;
    last = 'ones';
    any = true;
    j++;
  } else if (/^\d+(\.\d+)?$/.test(tokens[j])) {
    // digits only start a number when a multiplier follows: "5 million", "2.5 thousand"
    const next = tokens[j + 1];
    if (!has(MULTIPLIERS, next)) return null;
    const [int, frac = ''] = tokens[j].split('.');
    if (frac || Number(int) >= 1000) {
      const scaled = scaleDecimal(int, frac, MULTIPLIERS[next]);
      if (scaled === null) return null;
      return { end: j + 2, text: scaled, value: Number(scaled), suffix: '', small: false };
    }
    current = Number(int);
    last = 'digits';
    any = true;
    j++;
  }

  for (; j < tokens.length; j++) {
    const w = tokens[j];
    if (has(ONES, w)) {
      if (w === 'zero') {
        if (any) break;
        current = 0;
        last = 'zero';
        any = true;
        continue;
      }
      if (!(startsChunk() || last === 'tens')) break;
      current += ONES[w];
      last = 'ones';
    } else if (has(TEENS, w)) {
      if (!startsChunk()) break;
      current += TEENS[w];
      last = 'teen';
    } else if (has(TENS, w)) {
      if (!startsChunk()) break;
      current += TENS[w];
      last = 'tens';
    } else if (w === 'hundred') {
      if (!(last === 'ones' || last === 'teen' || last === 'tens' || last === 'digits') || hundredUsed || current < 1 || current > 99) break;
      current *= 100;
      hundredUsed = true;
      multiplied = true;
      last = 'hundred';
    } else if (has(MULTIPLIERS, w)) {
      const m = MULTIPLIERS[w];
      if (!(last === 'ones' || last === 'teen' || last === 'tens' || last === 'hundred' || last === 'digits') || current < 1 || m >= lastBig) break;
      total += current * m;
      current = 0;
      lastBig = m;
      hundredUsed = false;
      multiplied = true;
      last = 'big';
    } else if (w === 'and') {
      // "one hundred and five": absorbed only between a multiplier and the rest of the number
      const next = tokens[j + 1];
      if (!(last === 'hundred' || last === 'big')) break;
      if (!(has(ONES, next) && next !== 'zero') && !has(TEENS, next) && !has(TENS, next) && !has(ORDINAL_ONES, next) && !has(ORDINAL_TEENS, next) && !has(ORDINAL_TENS, next)) break;
    } else if (has(ORDINAL_ONES, w)) {
      // "second" alone is a unit of time more often than an ordinal: only after a number
      if (!(startsChunk() || last === 'tens') || (w === 'second' && !any)) break;
      current += ORDINAL_ONES[w];
      j++;
      return { ...finish(), suffix: ordinalSuffix(total + current), small: false };
    } else if (has(ORDINAL_TEENS, w) || has(ORDINAL_TENS, w)) {
      if (!startsChunk()) break;
      current += has(ORDINAL_TEENS, w) ? ORDINAL_TEENS[w] : ORDINAL_TENS[w];
      j++;
      return { ...finish(), suffix: 'th', small: false };
    } else if (has(ORDINAL_MULTIPLIERS, w)) {
      const m = ORDINAL_MULTIPLIERS[w];
      if (!any) {
        current = m;
      } else if (m === 100) {
        if (!(last === 'ones' || last === 'teen' || last === 'tens') || hundredUsed) break;
        current *= 100;
      } else {
        if (!(last === 'ones' || last === 'teen' || last === 'tens' || last === 'hundred') || m >= lastBig) break;
        total += current * m;
        current = 0;
      }
      j++;
      return { ...finish(), suffix: 'th', small: false };
    } else if (has(PLURAL_TENS, w)) {
      if (!startsChunk()) break;
      current += PLURAL_TENS[w];
      last = 'tens';
      j++;
      return { ...finish(), suffix: 's' };
    } else if (w === 'point') {
      if (!any || last === 'none') break;
      if (last === 'hundred' || last === 'big') break;
      const d = decimal(String(total + current));
      if (!d) break;
      return d;
    } else {
      break;
    }
    any = true;
  }
  if (!any) return null;
  if (last === 'digits') return null; // digits with no multiplier after all
  return finish();
}

/** Rewrites spelled numbers in a token list as digits (rule 13). */
export function numbersToDigits(tokens: string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    const a = parseNumber(tokens, i);
    if (!a) {
      out.push(tokens[i]);
      i++;
      continue;
    }
    let text = a.text + a.suffix;
    let j = a.end;
    if (a.small && a.suffix === '') {
      // years and clock times: "nineteen ninety nine", "five thirty", "nineteen oh five"
      const d = tokens[j + 1];
      if (tokens[j] === 'oh' && has(ONES, d) && d !== 'zero' && !has(MULTIPLIERS, tokens[j + 2])) {
        text = `${a.value}0${ONES[d]}`;
        j += 2;
      } else {
        const b = parseNumber(tokens, j);
        if (b && b.small && b.value >= 10 && (b.suffix === '' || b.suffix === 's')) {
          text = `${a.value}${b.value}${b.suffix}`;
          j = b.end;
        }
      }
    }
    out.push(text);
    i = j;
  }
  return out;
}
