/** whisper-perf/store: the results store (SQLite through better-sqlite3, PostgreSQL through pg: optional peers) and imports of whisper.cpp's own output. */
export * from '../store/index.js';
export { parseImport, detectFormat, IMPORT_FORMATS, type ImportFormat, type ImportedFile } from '../store/native-import.js';
