// Polls GET /api/status: quickly while it fails (the boot line retries),
// slowly once it answers (header counters), and at once when `refreshKey`
// changes (the live link came or went, so the counters moved). No URL, no
// polling: the probe stays pending (a page that runs its own probe).

import { useEffect, useState } from 'react';
import type { GatewayProbe } from '../boot/checks.js';
import { fetchGatewayStatus } from '@tactical-link/client';

const RETRY_MS = 2_000;
const REFRESH_MS = 10_000;

export function useGatewayProbe(statusUrl: string | null, refreshKey = ''): GatewayProbe {
  const [probe, setProbe] = useState<GatewayProbe>({ phase: 'pending' });
  useEffect(() => {
    if (statusUrl === null) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const status = await fetchGatewayStatus(statusUrl);
        if (cancelled) return;
        setProbe({ phase: 'ok', status });
        timer = setTimeout(poll, REFRESH_MS);
      } catch (err) {
        if (cancelled) return;
        setProbe({ phase: 'failed', error: (err as Error).message, retryAt: Date.now() + RETRY_MS });
        timer = setTimeout(poll, RETRY_MS);
      }
    };
    void poll();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [statusUrl, refreshKey]);
  return probe;
}
