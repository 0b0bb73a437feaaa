/**
 * The first `max` items joined for a message, the rest as a count:
 * `listSome(['a', 'b', 'c', 'd', 'e'], 3)` is "a, b, c and 2 more". Keeps
 * error and warning lines short however long the list is.
 */
export function listSome(items: readonly unknown[], max = 3, sep = ', '): string {
  const n = items.length;
  if (n <= max + 1) return items.map(String).join(sep);
  return `${items.slice(0, max).map(String).join(sep)} and ${n - max} more`;
}
