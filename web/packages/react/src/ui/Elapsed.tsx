// A duration that ticks while it runs.

import { useNow } from '../hooks/useNow.js';
import { formatDuration } from '@tactical-link/client';

export function Elapsed({ since, until }: { since: number; until: number | null }) {
  const now = useNow(250, until === null);
  const end = until ?? now;
  return <>{formatDuration(Math.max(0, end - since))}</>;
}
