import fs from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

export type LogFormat = 'csvlog' | 'jsonlog' | 'stderr';

/** What the server log said during the window, counted by SQLSTATE. */
export interface LogCounts {
  format: LogFormat | null;
  /** ERROR/FATAL/PANIC entries by SQLSTATE (for this database when the format names it). */
  bySqlstate: Record<string, number>;
  /** stderr format without the SQLSTATE in the line: codes were inferred from English message text (lc_messages dependent). */
  fromMessageText: boolean;
  /** Times the file was rotated, replaced or truncated under us (each time reopened). */
  reopened: number;
}

/**
 * stderr lines carry no SQLSTATE unless log_error_verbosity = verbose ("ERROR:  57014: …"); then
 * only the message text says what happened, and only in English (lc_messages = C/en).
 */
const MESSAGE_CODES: [RegExp, string][] = [
  [/canceling statement due to statement timeout/, '57014'],
  [/terminating connection due to idle-in-transaction timeout/, '25P03'],
  [/terminating connection due to transaction timeout/, '25P04'],
  [/too many connections for (database|role)|sorry, too many clients already/, '53300'],
];
const SEVERE = new Set(['ERROR', 'FATAL', 'PANIC']);

// csvlog columns (stable since 9.0): 2 database_name, 11 error_severity, 12 sql_state_code.
const CSV_DB = 2;
const CSV_SEVERITY = 11;
const CSV_SQLSTATE = 12;

/**
 * Counts the SQLSTATEs of the entries appended to a server log since it was opened. csvlog and
 * jsonlog are parsed by their SQLSTATE field (csv records may span lines: a record ends at a
 * newline outside quotes; an incomplete last record waits for the next scan). Rotation is
 * followed: when the path names another file (rename + new file) the old one is read to its end
 * first, then the new one from its start; a truncated file is read again from its start.
 */
export class LogScanner {
  private handle: fs.FileHandle | null = null;
  private inode = 0;
  private offset = 0;
  private pending = '';
  private decoder = new StringDecoder('utf8');
  private readonly counts: LogCounts = { format: null, bySqlstate: {}, fromMessageText: false, reopened: 0 };

  private constructor(
    private readonly file: string,
    private readonly database: string | null,
  ) {}

  /** Start at the log's current end, so only entries from now on count. Throws when it cannot be read. */
  static async open(file: string, database: string | null = null): Promise<LogScanner> {
    const scanner = new LogScanner(file, database);
    scanner.counts.format = await detectFormat(file);
    await scanner.reopen(true);
    return scanner;
  }

  private async reopen(atEnd: boolean): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = await fs.open(this.file, 'r');
    const st = await this.handle.stat();
    this.inode = st.ino;
    this.offset = atEnd ? st.size : 0;
    this.pending = '';
    this.decoder = new StringDecoder('utf8');
  }

  async scan(): Promise<LogCounts> {
    const current = await fs.stat(this.file).catch(() => null);
    if (current && current.ino !== this.inode) {
      await this.drain(); // rotated: the rest of the old file first
      await this.reopen(false);
      this.counts.reopened++;
      this.counts.format ??= await detectFormat(this.file);
    } else if (current && current.size < this.offset) {
      this.offset = 0; // truncated in place (copytruncate)
      this.pending = '';
      this.counts.reopened++;
    }
    await this.drain();
    return this.snapshot();
  }

  snapshot(): LogCounts {
    return { ...this.counts, bySqlstate: { ...this.counts.bySqlstate } };
  }

  async close(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
  }

  /** Read what was appended to the open file and count its complete records. */
  private async drain(): Promise<void> {
    if (!this.handle) return;
    const { size } = await this.handle.stat();
    while (this.offset < size) {
      const buffer = Buffer.alloc(Math.min(size - this.offset, 1 << 20));
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      this.pending += this.decoder.write(buffer.subarray(0, bytesRead));
      this.consume();
    }
  }

  private consume(): void {
    this.counts.format ??= sniff(this.pending);
    const format = this.counts.format;
    if (!format) return;
    if (format === 'csvlog') {
      const { records, rest } = splitCsvRecords(this.pending);
      this.pending = rest;
      for (const fields of records) this.count(fields[CSV_SEVERITY], fields[CSV_SQLSTATE], fields[CSV_DB]);
      return;
    }
    const end = this.pending.lastIndexOf('\n');
    if (end < 0) return;
    const lines = this.pending.slice(0, end).split('\n');
    this.pending = this.pending.slice(end + 1);
    for (const line of lines) {
      if (format === 'jsonlog') {
        try {
          const e = JSON.parse(line) as { error_severity?: string; state_code?: string; dbname?: string };
          this.count(e.error_severity, e.state_code, e.dbname);
        } catch {
          /* not a log record */
        }
      } else this.countStderr(line);
    }
  }

  private count(severity: string | undefined, code: string | undefined, db: string | undefined): void {
    if (!severity || !SEVERE.has(severity) || !code || code === '00000') return;
    if (this.database !== null && db && db !== this.database) return;
    this.counts.bySqlstate[code] = (this.counts.bySqlstate[code] ?? 0) + 1;
  }

  private countStderr(line: string): void {
    const m = /\b(ERROR|FATAL|PANIC):\s+(?:([0-9A-Z]{5}):\s+)?(.*)$/.exec(line);
    if (!m) return;
    // Debian's default prefix "%m [%p] %q%u@%d ": filter by database when it is there.
    const db = /\]\s+[^@\s]*@(\S+)\s+(?:ERROR|FATAL|PANIC):/.exec(line)?.[1];
    let code: string | undefined = m[2];
    if (!code) {
      code = MESSAGE_CODES.find(([re]) => re.test(m[3]))?.[1];
      if (code) this.counts.fromMessageText = true;
    }
    this.count(m[1], code, db);
  }
}

/** The log's format, from its name or its first complete line; null for an empty file. */
async function detectFormat(file: string): Promise<LogFormat | null> {
  if (file.endsWith('.csv')) return 'csvlog';
  if (file.endsWith('.json')) return 'jsonlog';
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return sniff(buffer.subarray(0, bytesRead).toString('utf8'));
  } finally {
    await handle.close();
  }
}

function sniff(text: string): LogFormat | null {
  const line = text.split('\n').find((l) => l.trim());
  if (!line || !text.includes('\n')) return null;
  if (line.trimStart().startsWith('{')) return 'jsonlog';
  // csvlog starts with the timestamp and a comma: 2026-01-01 12:00:00.123 UTC,"user","db",…
  if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?( [A-Za-z0-9+:-]+)?,/.test(line)) return 'csvlog';
  return 'stderr';
}

/** RFC 4180 records: "" is a quote inside a quoted field; a newline inside quotes does not end the record. */
export function splitCsvRecords(text: string): { records: string[][]; rest: string } {
  const records: string[][] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let start = 0; // where the record being parsed began
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n') {
      fields.push(field);
      records.push(fields);
      fields = [];
      field = '';
      start = i + 1;
    } else if (c !== '\r') field += c;
  }
  return { records, rest: text.slice(start) };
}

/**
 * Check a --log path before anything changes (a typo must be a usage error, not a failure after
 * the apply): it must be a readable file. Returns the format seen so far (null: empty yet).
 */
export async function checkLogFile(file: string): Promise<LogFormat | null> {
  const st = await fs.stat(file);
  if (!st.isFile()) throw Object.assign(new Error(`${file} is not a file`), { code: 'ENOTFILE' });
  await (await fs.open(file, 'r')).close();
  return detectFormat(file);
}
