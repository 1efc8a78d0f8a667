/**
 * `sortorder.NaturalLess` (github.com/fvbommel/sortorder), which the docker CLI uses to sort
 * `port` lines and `network ls`/`volume ls` rows: digit runs compare by value (leading zeros
 * ignored, fewer zeros first on a tie), digits sort before other characters, the rest
 * compares bytewise.
 */

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

export function naturalLess(str1: string, str2: string): boolean {
  const a = Buffer.from(str1, 'utf8');
  const b = Buffer.from(str2, 'utf8');
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const c1 = a[i] as number;
    const c2 = b[j] as number;
    const d1 = isDigit(c1);
    const d2 = isDigit(c2);
    if (d1 !== d2) return d1;
    if (!d1) {
      if (c1 !== c2) return c1 < c2;
      i++;
      j++;
      continue;
    }
    while (i < a.length && a[i] === 0x30) i++;
    while (j < b.length && b[j] === 0x30) j++;
    const nz1 = i;
    const nz2 = j;
    while (i < a.length && isDigit(a[i] as number)) i++;
    while (j < b.length && isDigit(b[j] as number)) j++;
    const len1 = i - nz1;
    const len2 = j - nz2;
    if (len1 !== len2) return len1 < len2;
    const n1 = a.subarray(nz1, i).toString('latin1');
    const n2 = b.subarray(nz2, j).toString('latin1');
    if (n1 !== n2) return n1 < n2;
    if (nz1 !== nz2) return nz1 < nz2;
  }
  return a.length < b.length;
}

/** `naturalLess` as an `Array.prototype.sort` comparator. */
export function naturalCompare(a: string, b: string): number {
  if (naturalLess(a, b)) return -1;
  if (naturalLess(b, a)) return 1;
  return 0;
}
