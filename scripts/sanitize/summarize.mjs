#!/usr/bin/env node
// Reads what one tool of scripts/sanitize.sh left in its log folder and prints its one summary line.
//   node scripts/sanitize/summarize.mjs asan|tsan DIR [ADDON] (DIR: <tool>.<pid> files, output.log, vitest.json)
//   node scripts/sanitize/summarize.mjs valgrind DIR      (DIR: memcheck.<pid>.xml + exercise.out)
// A report is the addon's when one of its frames is in the addon: a source path under binding/ or
// vendor/whisper.cpp/, or the addon file itself (whisper_perf.node: whisper.cpp, ggml and binding/
// are linked into it statically). Everything else (Node, V8, libc, libgomp) is counted as "other".
// The addon's reports are copied to DIR/addon-reports.txt. Exit status: 1 when the addon has an error
// or a test/case failed, else 0.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [tool, dir, addon] = process.argv.slice(2);
if (!tool || !dir) {
  process.stderr.write('usage: summarize.mjs asan|tsan|valgrind DIR\n');
  process.exit(2);
}

const ADDON = /\/binding\/|\/vendor\/whisper\.cpp\/|whisper_perf\.node/;
const files = existsSync(dir) ? readdirSync(dir) : [];
const addonReports = [];
let other = 0;
let suppressed = 0;
let suppressedNote = '';

// the same report from several processes (each test file is a fork) counts once: keyed by its
// first line and top frames, without pids and addresses
const seen = new Set();
// TSan in a Node host leaves the addon's frames unsymbolized ("<null> <null> (whisper_perf.node+0x1faaf6)"):
// name them with addr2line from the addon file (its debug info), inlined frames joined by " > ".
function symbolize(text) {
  if (!addon || !existsSync(addon)) return text;
  const addrs = [...new Set([...text.matchAll(/<null> <null> \(whisper_perf\.node\+(0x[0-9a-f]+)\)/g)].map((m) => m[1]))];
  if (!addrs.length) return text;
  let names = {};
  try {
    const out = execFileSync('addr2line', ['-f', '-C', '-i', '-a', '-e', addon, ...addrs], { encoding: 'utf8', maxBuffer: 1 << 26 });
    let cur;
    const lines = out.split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (/^0x[0-9a-f]+$/.test(lines[i])) {
        cur = `0x${BigInt(lines[i]).toString(16)}`;
        names[cur] = [];
      } else if (cur && lines[i]) {
        names[cur].push(`${lines[i]} ${(lines[++i] ?? '').replace(/ \(discriminator \d+\)/, '')}`);
      }
    }
  } catch {
    return text;
  }
  return text.replace(/<null> <null> \(whisper_perf\.node\+(0x[0-9a-f]+)\)/g, (all, a) => (names[a]?.length ? `${names[a].join(' > ')} (whisper_perf.node+${a})` : all));
}

function classify(text) {
  text = symbolize(text);
  const key = text
    .split('\n')
    .filter((l) => /runtime error|ERROR:|WARNING:|^\s+#[0-3] |<kind>|^  \S/.test(l))
    .slice(0, 6)
    .join('\n')
    .replace(/0x[0-9a-f]+|pid=\d+|==\d+==|T\d+|^\S+:\n/g, '');
  if (seen.has(key)) return;
  seen.add(key);
  if (ADDON.test(text)) addonReports.push(text);
  else other++;
}

if (tool === 'asan' || tool === 'tsan') {
  for (const f of files.filter((f) => /^(asan|tsan)\.\d+$/.test(f) || f === 'output.log')) {
    const text = readFileSync(join(dir, f), 'utf8');
    // one report runs from its header to its SUMMARY line
    // (UBSan: the "runtime error" line and its stack, print_stacktrace=1)
    const re = /(^==\d+==ERROR: AddressSanitizer[\s\S]*?^SUMMARY: AddressSanitizer.*$)|(^WARNING: ThreadSanitizer[\s\S]*?^SUMMARY: ThreadSanitizer.*$)|(^.*runtime error:.*\n(?:\s+#\d+ .*\n?)*)|(^==\d+==ERROR: LeakSanitizer[\s\S]*?^SUMMARY: AddressSanitizer.*$)/gm;
    let reports = 0;
    for (const m of text.matchAll(re)) {
      classify(`${f}:\n${m[0]}`);
      reports++;
    }
    // TSan (print_suppressions=1): "ThreadSanitizer: Matched 3 suppressions (pid=1):\n2 race:x\n1 race:y"
    for (const m of text.matchAll(/Matched \d+ suppressions[^\n]*\n((?:\s*\d+ \w+:.*\n?)*)/g))
      for (const l of m[1].matchAll(/^\s*(\d+) \w+:/gm)) suppressed += Number(l[1]);
    // a sanitizer that stopped the process without a complete report (a crash in the runtime)
    if (!reports && /(Address|Thread|UndefinedBehavior)Sanitizer|runtime error:/.test(text.replace(/^.*Matched \d+ suppressions[\s\S]*$/m, ''))) classify(`${f}:\n${text}`);
  }
  if (tool === 'asan') suppressedNote = ' (ASan/UBSan print no count; none are configured)';
} else if (tool === 'valgrind') {
  for (const f of files.filter((f) => /^memcheck\.\d+\.xml$/.test(f))) {
    const xml = readFileSync(join(dir, f), 'utf8');
    for (const m of xml.matchAll(/<error>([\s\S]*?)<\/error>/g)) {
      const kind = /<kind>(.*?)<\/kind>/.exec(m[1])?.[1] ?? '?';
      // possibly/indirectly lost and still-reachable blocks are not errors (--errors-for-leak-kinds=definite)
      if (/^Leak_(Possibly|Indirectly|StillReachable)/.test(kind)) continue;
      const what = /<what>(.*?)<\/what>|<text>(.*?)<\/text>/.exec(m[1]);
      const frames = [...m[1].matchAll(/<frame>([\s\S]*?)<\/frame>/g)].map((fr) => {
        const g = (t) => new RegExp(`<${t}>(.*?)</${t}>`).exec(fr[1])?.[1] ?? '';
        return `  ${g('fn') || g('ip')} ${g('dir') ? `${g('dir')}/${g('file')}:${g('line')}` : g('obj')}`;
      });
      classify(`${f}: ${kind}: ${what?.[1] ?? what?.[2] ?? ''}\n${frames.join('\n')}`);
    }
    for (const m of xml.matchAll(/<pair>\s*<count>(\d+)<\/count>/g)) suppressed += Number(m[1]);
  }
}

// tests or cases
let run = '?';
let failedTests = 0;
if (tool === 'valgrind') {
  const out = existsSync(join(dir, 'exercise.out')) ? readFileSync(join(dir, 'exercise.out'), 'utf8') : '';
  const m = /cases: (\d+) passed, (\d+) failed/.exec(out);
  if (m) {
    run = `${Number(m[1]) + Number(m[2])} cases (${m[2]} failed)`;
    failedTests = Number(m[2]);
  } else {
    run = 'the exercise did not finish';
    failedTests = 1;
  }
} else {
  try {
    const j = JSON.parse(readFileSync(join(dir, 'vitest.json'), 'utf8'));
    const files = j.testResults?.length ?? 0;
    const crashed = (j.testResults ?? []).filter((t) => t.status === 'failed' && !(t.assertionResults ?? []).length).length;
    failedTests = (j.numFailedTests ?? 0) + crashed;
    run = `${j.numTotalTests} tests in ${files} files (${j.numPassedTests} passed, ${j.numFailedTests} failed${crashed ? `, ${crashed} files failed outside a test` : ''}${j.numPendingTests ? `, ${j.numPendingTests} skipped` : ''})`;
  } catch {
    run = 'vitest wrote no results';
    failedTests = 1;
  }
}

if (addonReports.length) writeFileSync(join(dir, 'addon-reports.txt'), addonReports.join('\n\n') + '\n');
process.stdout.write(
  `${tool}: ${run}; errors in the addon: ${addonReports.length} distinct; other errors (not the addon's): ${other}; suppressed: ${suppressed}${suppressedNote}; logs: ${dir}\n`,
);
process.exit(addonReports.length || failedTests ? 1 : 0);
