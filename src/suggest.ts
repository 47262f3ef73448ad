/**
 * "Did you mean statement_timeout?": the closest known name to a misspelt one, or null when
 * nothing is close (edit distance at most a third of the name, and at least 1–2 edits).
 */
export function closest(word: string, known: Iterable<string>): string | null {
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d > 0 && d <= limit && d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Damerau–Levenshtein (optimal string alignment): a swapped pair of letters is one edit. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** " (did you mean X?)" or "". */
export const didYouMean = (word: string, known: Iterable<string>): string => {
  const hit = closest(word, known);
  return hit ? ` (did you mean ${hit}?)` : '';
};
