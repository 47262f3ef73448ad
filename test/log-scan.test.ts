import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogScanner, checkLogFile, splitCsvRecords } from '../src/guard/log-scan.js';

/** Records as PostgreSQL writes them (csvlog: 23+ columns; jsonlog: one object a line). */
const csv = (db: string, severity: string, code: string, message: string) =>
  `2026-11-26 05:42:25.940 UTC,"app","${db}",12831,"127.0.0.1:5050",6561a1b1.321f,1,"SELECT",2026-11-26 05:42:25 UTC,3/7,0,${severity},${code},"${message.replace(/"/g, '""')}",,,,,,"SELECT pg_sleep(5)",,,"psql","client backend",,0\n`;
const json = (db: string, severity: string, code: string, message: string) =>
  JSON.stringify({
    timestamp: '2026-11-26 05:42:25.940 UTC',
    user: 'app',
    dbname: db,
    pid: 12831,
    error_severity: severity,
    state_code: code,
    message,
    backend_type: 'client backend',
  }) + '\n';

async function logFile(name: string, content = ''): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-log-'));
  const file = path.join(dir, name);
  await fs.writeFile(file, content);
  return file;
}

describe('server log scanning by SQLSTATE', () => {
  it('csvlog: counts by sql_state_code for this database, across records spanning lines and reads', async () => {
    const file = await logFile('postgresql.csv', csv('app', 'ERROR', '57014', 'old entry, before the window'));
    const scanner = await LogScanner.open(file, 'app');
    const multiLine = csv('app', 'ERROR', '57014', 'canceling statement due to statement timeout\nwith a second line, "quoted"');
    await fs.appendFile(file, multiLine.slice(0, 60)); // a record cut in the middle by the reader
    expect((await scanner.scan()).bySqlstate).toEqual({});
    await fs.appendFile(
      file,
      multiLine.slice(60) +
        csv('app', 'FATAL', '25P03', 'terminating connection due to idle-in-transaction timeout') +
        csv('app', 'FATAL', '53300', 'too many connections for database "app"') +
        csv('other', 'ERROR', '57014', 'another database') +
        csv('app', 'LOG', '00000', 'duration: 1200 ms'),
    );
    expect(await scanner.scan()).toMatchObject({
      format: 'csvlog',
      bySqlstate: { '57014': 1, '25P03': 1, '53300': 1 },
      fromMessageText: false,
    });
  });

  it('jsonlog: counts by state_code; any language', async () => {
    const file = await logFile('postgresql.json');
    const scanner = await LogScanner.open(file, 'app');
    await fs.appendFile(
      file,
      json('app', 'ERROR', '57014', 'Abbruch der Anweisung wegen Zeitüberschreitung') +
        json('app', 'FATAL', '53300', 'zu viele Verbindungen') +
        json('app', 'FATAL', '53300', 'x'),
    );
    expect(await scanner.scan()).toMatchObject({ format: 'jsonlog', bySqlstate: { '57014': 1, '53300': 2 } });
  });

  it('stderr: the SQLSTATE when log_error_verbosity=verbose puts it in the line, else English message text (and says so)', async () => {
    const file = await logFile('postgresql.log', '2026-11-26 05:42:00.000 UTC [1] LOG:  database system is ready\n');
    const scanner = await LogScanner.open(file, 'app');
    await fs.appendFile(
      file,
      [
        '2026-11-26 05:42:25.940 UTC [12831] app@app ERROR:  57014: canceling statement due to statement timeout',
        '2026-11-26 05:42:25.941 UTC [12832] app@app FATAL:  too many connections for database "app"',
        '2026-11-26 05:42:25.942 UTC [12833] app@other FATAL:  too many connections for database "other"',
        '2026-11-26 05:42:25.943 UTC [12834] app@app STATEMENT:  SELECT pg_sleep(5)',
        '',
      ].join('\n'),
    );
    expect(await scanner.scan()).toMatchObject({ format: 'stderr', bySqlstate: { '57014': 1, '53300': 1 }, fromMessageText: true });
  });

  it('follows rotation: the rest of the old file, then the new file from its start; and a truncated file from its start', async () => {
    const file = await logFile('postgresql.csv');
    const scanner = await LogScanner.open(file, null);
    await fs.appendFile(file, csv('app', 'ERROR', '57014', 'one'));
    expect((await scanner.scan()).bySqlstate).toEqual({ '57014': 1 });
    // logrotate's create mode: the old file renamed (and still written to a little), a new one created.
    await fs.appendFile(file, csv('app', 'ERROR', '57014', 'two, written just before the rename'));
    await fs.rename(file, file + '.1');
    await fs.appendFile(file + '.1', csv('app', 'ERROR', '57014', 'three, late write to the old file'));
    await fs.writeFile(file, csv('app', 'FATAL', '53300', 'four, in the new file'));
    expect(await scanner.scan()).toMatchObject({ bySqlstate: { '57014': 3, '53300': 1 }, reopened: 1 });
    // copytruncate: same file, emptied, then written again.
    await fs.truncate(file, 0);
    await fs.appendFile(file, csv('app', 'FATAL', '53300', 'five'));
    expect(await scanner.scan()).toMatchObject({ bySqlstate: { '57014': 3, '53300': 2 }, reopened: 2 });
    await scanner.close();
  });

  it('a --log that cannot be read is refused before anything changes', async () => {
    await expect(checkLogFile('/nonexistent/pg.log')).rejects.toThrow(/ENOENT/);
    await expect(checkLogFile(os.tmpdir())).rejects.toThrow(/not a file/);
    expect(await checkLogFile(await logFile('x.json'))).toBe('jsonlog');
  });

  it('csv splitting keeps quoted newlines and doubled quotes, and leaves an unfinished record for later', () => {
    const { records, rest } = splitCsvRecords('a,"b\nc","d""e"\nf,"g');
    expect(records).toEqual([['a', 'b\nc', 'd"e']]);
    expect(rest).toBe('f,"g');
  });
});
