import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyFile, runCli, tempDir, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

describe.each(testServers())('render on $name PostgreSQL', (server) => {
  it('refuses to overwrite a differing file (shows the diff, exit 4) unless --force; identical files are fine', async () => {
    await withTestDatabase(server, uniqueName('render'), async (db) => {
      const out = await tempDir();
      const args = [
        'render',
        '--db',
        urlFor(server, db),
        '--policy',
        await policyFile('settings:\n  statement_timeout: 2s\n'),
        '--out',
        out,
        '--name',
        '001_t',
      ];
      const forward = path.join(out, '001_t.sql');
      expect((await runCli(args)).code).toBe(0);
      const rendered = await fs.readFile(forward, 'utf8');
      expect((await runCli(args)).code).toBe(0); // same content again: nothing to refuse

      await fs.writeFile(forward, rendered.replace("'2s'", "'5s'"));
      const refused = await runCli(args);
      expect(refused.code, refused.stderr).toBe(4);
      expect(refused.stderr).toContain(`not overwriting ${forward}`);
      expect(refused.stderr).toMatch(/^- .*statement_timeout = '5s'/m);
      expect(refused.stderr).toMatch(/^\+ .*statement_timeout = '2s'/m);
      expect(await fs.readFile(forward, 'utf8')).toContain("'5s'");

      const forced = await runCli([...args, '--force']);
      expect(forced.code, forced.stderr).toBe(0);
      expect(await fs.readFile(forward, 'utf8')).toBe(rendered);
    });
  });
});
