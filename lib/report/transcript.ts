/**
 * Transcript output formats: plain text (one segment per line, as whisper-cli's -otxt), SubRip
 * (srt), WebVTT (vtt) and JSON. Times are the segments' own, in seconds from the start of the
 * audio (an offset included).
 */
import type { TranscriptSegment } from '../model/model.js';
import { invalidArgument } from '../errors.js';

export const TRANSCRIPT_FORMATS = ['txt', 'srt', 'vtt', 'json'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

/** `HH:MM:SS,mmm` (srt) or `HH:MM:SS.mmm` (vtt) of a time in seconds; negative or non-finite times are 0. */
export function timestamp(seconds: number, separator: ',' | '.' = ','): string {
  const ms = Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 0;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const f = ms % 1000;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}${separator}${String(f).padStart(3, '0')}`;
}

/** A cue's text: trimmed, line breaks kept apart from cue separators (no blank line inside a cue). */
function cueText(text: string): string {
  return text.trim().replace(/\r\n?/g, '\n').replace(/\n{2,}/g, '\n');
}

type Seg = Pick<TranscriptSegment, 'start' | 'end' | 'text'>;

/** Plain text: each segment's text, trimmed, on its own line (empty segments dropped). */
export function toTxt(segments: readonly Seg[]): string {
  return segments.map((s) => s.text.trim()).filter(Boolean).map((t) => t + '\n').join('');
}

/** SubRip: numbered cues from 1, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, a blank line after each. */
export function toSrt(segments: readonly Seg[]): string {
  return segments
    .filter((s) => s.text.trim() !== '')
    .map((s, i) => `${i + 1}\n${timestamp(s.start, ',')} --> ${timestamp(Math.max(s.end, s.start), ',')}\n${cueText(s.text)}\n\n`)
    .join('');
}

/** WebVTT: the WEBVTT header, then cues `HH:MM:SS.mmm --> HH:MM:SS.mmm`; &, < and > in the text are escaped (so no `-->` inside a cue). */
export function toVtt(segments: readonly Seg[]): string {
  const cues = segments
    .filter((s) => s.text.trim() !== '')
    .map((s) => `${timestamp(s.start, '.')} --> ${timestamp(Math.max(s.end, s.start), '.')}\n${cueText(s.text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}\n\n`)
    .join('');
  return `WEBVTT\n\n${cues}`;
}

/** Renders segments in txt, srt or vtt (json is the caller's object, JSON.stringify'd). */
export function formatSegments(segments: readonly Seg[], format: Exclude<TranscriptFormat, 'json'>): string {
  switch (format) {
    case 'txt':
      return toTxt(segments);
    case 'srt':
      return toSrt(segments);
    case 'vtt':
      return toVtt(segments);
    default:
      throw invalidArgument('transcript format', format, 'txt, srt, vtt, json');
  }
}
