import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line, `Tests: N passed, N failed, N skipped`, that CI reads.
 * A module with an error outside any test (it failed to load, a beforeAll threw) counts as a failure. Each failure is
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
      let failedHere = 0;
      for (const test of mod.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') passed++;
        else if (result.state === 'failed') {
          failedHere++;
          lines.push(`FAILED ${mod.relativeModuleId} > ${test.fullName}: ${firstLine(result.errors?.[0]?.message)}`);
        } else skipped++;
      }
      // An error outside any test (the module failed to load, a beforeAll threw and its tests were skipped) is a failure too.
      if (mod.state() === 'failed' && failedHere === 0) {
        const error = [...mod.errors(), ...[...mod.children.allSuites()].flatMap((s) => s.errors())][0];
        failedHere++;
        lines.push(`FAILED ${mod.relativeModuleId}: ${firstLine(error?.message)}`);
      }
      failed += failedHere;
    }
    if (lines.length) process.stdout.write(`\n${lines.join('\n')}\n`);
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
