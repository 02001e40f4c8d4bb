import { describe, expect, it } from 'vitest';
import { WhisperPerfError } from '../../lib/errors.js';
import {
  MAX_LIST_VALUES,
  cartesian,
  parseBoolList,
  parseDeviceList,
  parseIntList,
  parseOutputFormat,
  parseStringList,
} from '../../lib/measure/params.js';

function usage(fn: () => unknown): WhisperPerfError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WhisperPerfError);
    expect((e as WhisperPerfError).code).toBe('USAGE');
    expect((e as WhisperPerfError).message).not.toContain('\n');
    return e as WhisperPerfError;
  }
  throw new Error('expected a USAGE error');
}

describe('parseIntList', () => {
  const t = (text: string, opts?: { min?: number; max?: number }) => parseIntList('-t', text, opts);

  it('parses single values and lists', () => {
    expect(t('4')).toEqual([4]);
    expect(t('1,2,4')).toEqual([1, 2, 4]);
    expect(t(' 1 , 2 ')).toEqual([1, 2]);
    expect(t('0')).toEqual([0]);
  });

  it('parses ranges with additive and multiplicative steps', () => {
    expect(t('1-4')).toEqual([1, 2, 3, 4]);
    expect(t('4-4')).toEqual([4]);
    expect(t('1-16*2')).toEqual([1, 2, 4, 8, 16]);
    expect(t('1-20*2')).toEqual([1, 2, 4, 8, 16]);
    expect(t('3-30*3')).toEqual([3, 9, 27]);
    expect(t('1-16+4')).toEqual([1, 5, 9, 13]);
    expect(t('1,2,8-12+2')).toEqual([1, 2, 8, 10, 12]);
  });

  it('dedupes while keeping order', () => {
    expect(t('4,1-4,2')).toEqual([4, 1, 2, 3]);
  });

  it('rejects malformed input, naming the option and value', () => {
    for (const bad of ['1-', '-1', '', ' ', 'a', '1.5', '1,,2', '1,', '1-4*', '1-4/2', '1--4', '0x10', '1e3']) {
      const e = usage(() => t(bad));
      expect(e.message.startsWith('-t: invalid value ')).toBe(true);
    }
    expect(usage(() => t('1,a')).message).toContain('"a"');
  });

  it('rejects reversed ranges and bad steps', () => {
    expect(usage(() => t('8-1')).message).toMatch(/end 1 is below its start 8/);
    expect(usage(() => t('1-8+0')).message).toMatch(/step/);
    expect(usage(() => t('1-8*1')).message).toMatch(/factor/);
    expect(usage(() => t('1-8*0')).message).toMatch(/factor/);
    expect(usage(() => t('0-8*2')).message).toMatch(/start at 1/);
  });

  it('enforces min and max', () => {
    expect(usage(() => t('0', { min: 1 })).message).toMatch(/"0".*below the minimum 1/);
    expect(usage(() => t('0-4', { min: 1 })).message).toMatch(/below the minimum 1/);
    expect(usage(() => t('1-64', { min: 1, max: 32 })).message).toMatch(/64 is above the maximum 32/);
    expect(t('1-32*2', { min: 1, max: 32 })).toEqual([1, 2, 4, 8, 16, 32]);
  });

  it('rejects absurd sizes without expanding them', () => {
    expect(t(`1-${MAX_LIST_VALUES}`)).toHaveLength(MAX_LIST_VALUES);
    expect(usage(() => t(`1-${MAX_LIST_VALUES + 1}`)).message).toMatch(/more than 1000 values/);
    expect(usage(() => t('0-9007199254740991')).message).toMatch(/more than 1000 values/);
    expect(usage(() => t('1-500,1-501')).message).toMatch(/more than 1000 values/);
    expect(usage(() => t('99999999999999999999')).message).toMatch(/too large/);
  });
});

describe('parseBoolList', () => {
  it('accepts on/off, 1/0, true/false, yes/no in any case', () => {
    expect(parseBoolList('--fa', 'on,off')).toEqual([true, false]);
    expect(parseBoolList('--fa', '1')).toEqual([true]);
    expect(parseBoolList('--fa', 'FALSE,Yes,no,true')).toEqual([false, true]);
  });

  it('rejects other words', () => {
    expect(usage(() => parseBoolList('--fa', 'on,maybe')).message).toBe(
      '--fa: invalid value "maybe": expected on/off, 1/0, true/false or yes/no',
    );
    usage(() => parseBoolList('--fa', ''));
  });
});

describe('parseStringList', () => {
  it('splits and trims', () => {
    expect(parseStringList('-m', 'a.bin,b.bin')).toEqual(['a.bin', 'b.bin']);
    expect(parseStringList('-m', ' a.bin , a.bin ')).toEqual(['a.bin']);
  });

  it('rejects empty items', () => {
    expect(usage(() => parseStringList('-m', 'a.bin,,b.bin')).message).toMatch(/^-m: .*empty item at position 2/);
    usage(() => parseStringList('-m', ''));
    usage(() => parseStringList('-m', 'a,'));
  });
});

describe('parseDeviceList', () => {
  it('accepts cpu and GPU indices', () => {
    expect(parseDeviceList('--device', 'cpu,0,1')).toEqual(['cpu', '0', '1']);
    expect(parseDeviceList('--device', 'CPU,01')).toEqual(['cpu', '1']);
  });

  it('rejects anything else', () => {
    for (const bad of ['gpu', '-1', '1.5', '256', 'cpu,']) usage(() => parseDeviceList('--device', bad));
  });
});

describe('cartesian', () => {
  it('changes the first axis slowest', () => {
    const c = cartesian({ model: ['a', 'b'], threads: [1, 2], fa: [false, true] });
    expect(c).toEqual([
      { model: 'a', threads: 1, fa: false },
      { model: 'a', threads: 1, fa: true },
      { model: 'a', threads: 2, fa: false },
      { model: 'a', threads: 2, fa: true },
      { model: 'b', threads: 1, fa: false },
      { model: 'b', threads: 1, fa: true },
      { model: 'b', threads: 2, fa: false },
      { model: 'b', threads: 2, fa: true },
    ]);
    // typed: each key holds one element
    const first: { model: string; threads: number; fa: boolean } = c[0];
    expect(first.model).toBe('a');
  });

  it('handles empty axes and no axes', () => {
    expect(cartesian({ a: [1, 2], b: [] as number[] })).toEqual([]);
    expect(cartesian({})).toEqual([{}]);
  });
});

describe('parseOutputFormat', () => {
  it('accepts the five formats', () => {
    for (const f of ['md', 'csv', 'json', 'jsonl', 'sql'] as const) expect(parseOutputFormat(f)).toBe(f);
    expect(parseOutputFormat('JSON')).toBe('json');
  });

  it('rejects others', () => {
    expect(usage(() => parseOutputFormat('xml')).message).toBe(
      '-o: invalid value "xml": expected one of md, csv, json, jsonl, sql',
    );
    expect(usage(() => parseOutputFormat('yaml', '--output')).message).toMatch(/^--output: /);
  });
});
