/** One stage of a run as the record keeps it (and the report and the checklist show it). */
export interface StageRecord {
  stage: string;
  ok: boolean;
  skipped?: boolean;
  ms: number;
  summary: string;
}
