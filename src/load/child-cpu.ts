import fs from 'node:fs';

/** Clock ticks per second for /proc times (USER_HZ: 100 on every mainstream Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (ms, user + system) of this process's children that have exited and been waited
 * for: /proc/self/stat cutime + cstime. Sampled around a child's run it gives the child's own
 * CPU, e.g. pgbench's. Null where /proc is not available.
 */
export function childrenCpuMs(): number | null {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3, cutime 16, cstime 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}
