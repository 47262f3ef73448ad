/** Every node of `type` anywhere below `tree` (parse trees are plain JSON: `{ Type: body }`). */
export function nodesOf(tree: unknown, type: string): any[] {
  const found: any[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === type) found.push(child);
        visit(child);
      }
    }
  };
  visit(tree);
  return found;
}

/** The value of an `A_Const` (or a bare `String`/`Integer`/`Float`/`Boolean` node) as text; null for NULL or non-constants. */
export function constText(node: any): string | null {
  const c = node?.A_Const ?? node;
  if (!c || typeof c !== 'object') return null;
  // The JSON output omits zero and false: `{ ival: {} }` is 0.
  if (c.sval || c.String) return (c.sval ?? c.String).sval ?? '';
  if (c.ival || c.Integer) return String((c.ival ?? c.Integer).ival ?? 0);
  if (c.fval || c.Float) return (c.fval ?? c.Float).fval ?? '0';
  if (c.boolval || c.Boolean) return (c.boolval ?? c.Boolean).boolval ? 'on' : 'off';
  return null;
}

/** A function's name without its schema: `pg_catalog.current_setting` → `current_setting`. */
export function funcName(call: any): string {
  const parts = (call?.funcname ?? []) as any[];
  return parts.at(-1)?.String?.sval ?? '';
}

/** Whether a `DefElem` list (statement options such as VACUUM's or REINDEX's) holds `name`. */
export const hasOption = (options: any[] | undefined, name: string): boolean => (options ?? []).some((o) => o.DefElem?.defname === name);
