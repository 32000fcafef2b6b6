// How the gateway's event bus is named to people.

/** `in-process bus`, `Redis`, or the kind as given. */
export function busLabel(kind: string): string {
  if (kind === 'memory') return 'in-process bus';
  if (kind === 'redis') return 'Redis';
  return kind;
}
