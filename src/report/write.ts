import type { RunRecord } from '../run/run.js';
import { RunDir } from '../state/run-dir.js';
import { renderHtml } from './html.js';
import { renderMarkdown, renderNotice } from './markdown.js';
import { buildReport } from './model.js';

export type ReportFormat = 'md' | 'html' | 'json';

export function renderReport(record: RunRecord, format: ReportFormat): string {
  const model = buildReport(record);
  if (format === 'md') return renderMarkdown(model);
  if (format === 'html') return renderHtml(model);
  return JSON.stringify({ ...model, record }, null, 2) + '\n';
}

/** report.md, report.html, report.json and notice.md in the run directory. */
export async function writeReports(record: RunRecord, runsRoot?: string): Promise<Record<ReportFormat | 'notice', string>> {
  const dir = new RunDir(record.runId, runsRoot);
  return {
    md: await dir.write('report.md', renderReport(record, 'md')),
    html: await dir.write('report.html', renderReport(record, 'html')),
    json: await dir.write('report.json', renderReport(record, 'json')),
    notice: await dir.write('notice.md', renderNotice(buildReport(record))),
  };
}
