import { appWorkload } from './app.js';
import { selectWorkload } from './select.js';
import { tpcbWorkload } from './tpcb.js';
import type { Workload, WorkloadName, WorkloadOptions } from './types.js';

export * from './types.js';

const BUILDERS: Record<WorkloadName, (o: WorkloadOptions) => Workload> = {
  select: selectWorkload,
  tpcb: tpcbWorkload,
  app: appWorkload,
  script: () => {
    throw new Error('the script workload is built from its files (compileScripts)');
  },
};

/** A fresh workload instance (its parameter generators hold per-client state: one per client). */
export const buildWorkload = (name: WorkloadName, o: WorkloadOptions): Workload => BUILDERS[name](o);
