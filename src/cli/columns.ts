// printf-style column helpers for ipvsadm's fixed-width output (%-28s, %8llu, ...) and its large-number
// format: counters under 100 million in full, above that scaled to K, M, G or T (integer division), or
// always in full with --exact, each right-aligned in a nine-character column.

/** %-Ns */
export function left(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** %Ns / %Nd / %Nllu */
export function right(text: string | number | bigint, width: number): string {
  const s = String(text);
  return s.length >= width ? s : ' '.repeat(width - s.length) + s;
}

function toBigInt(value: number | bigint): bigint {
  if (typeof value === 'bigint') return value < 0n ? 0n : value;
  return BigInt(Math.max(0, Math.trunc(value)));
}

/** ipvsadm's print_largenum. */
export function largeNumber(value: number | bigint, exact: boolean): string {
  const i = toBigInt(value);
  if (exact) {
    const digits = i.toString();
    return right(digits, digits.length <= 8 ? 9 : digits.length + 1);
  }
  if (i < 100_000_000n) return right(i, 9);
  if (i < 1_000_000_000n) return right(i / 1000n, 8) + 'K';
  if (i < 100_000_000_000n) return right(i / 1_000_000n, 8) + 'M';
  if (i < 100_000_000_000_000n) return right(i / 1_000_000_000n, 8) + 'G';
  return right(i / 1_000_000_000_000n, 8) + 'T';
}

/** An unsigned counter as %u / %llu. */
export function unsigned(value: number | bigint): string {
  return toBigInt(value).toString();
}
