import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line, `Tests: N passed, N failed, N skipped`, that CI reads.
 * A module that failed to load (an error outside any test) counts as a failure. Each failure is
 * listed above it in one line (file, test, first line of the error), so a long log is easy to triage.
 */
export default class CountsReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    const lines: string[] = [];
    const firstLine = (message?: string) => (message ?? '').split('\n')[0].slice(0, 200);
    for (const mod of modules) {
      if (mod.state() === 'failed' && ![...mod.children.allTests()].length) {
        failed++;
        lines.push(`FAILED ${mod.moduleId}: ${firstLine(mod.errors()[0]?.message)}`);
      }
      for (const test of mod.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') passed++;
        else if (result.state === 'failed') {
          failed++;
          lines.push(`FAILED ${mod.relativeModuleId} > ${test.fullName}: ${firstLine(result.errors?.[0]?.message)}`);
        } else skipped++;
      }
    }
    if (lines.length) process.stdout.write(`\n${lines.join('\n')}\n`);
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
