// The gateway's link to its event bus: REDIS UP / REDIS DOWN / IN-PROCESS BUS.

import { busLabel, formatClock, type BusFrame } from '@tactical-link/client';

export function busText(bus: BusFrame | null): string {
  if (!bus) return 'BUS —';
  if (bus.kind === 'memory') return bus.state === 'up' ? 'IN-PROCESS BUS' : 'IN-PROCESS BUS DOWN';
  return `${busLabel(bus.kind).toUpperCase()} ${bus.state === 'up' ? 'UP' : 'DOWN'}`;
}

function busTitle(bus: BusFrame | null): string {
  if (!bus) return 'Bus state not known yet';
  const since = Date.parse(bus.since);
  const parts = [`${busLabel(bus.kind)} ${bus.state}${Number.isNaN(since) ? '' : ` since ${formatClock(since)}`}`];
  if (bus.detail) parts.push(bus.detail);
  if (bus.lossy) parts.push('at-most-once: events published while the link is down are lost');
  return parts.join(' — ');
}

/** `stale`: the live link is down, so this is the last state the gateway told. */
export function BusStatus({ bus, stale }: { bus: BusFrame | null; stale: boolean }) {
  const state = bus?.state ?? 'unknown';
  return (
    <div
      className={`badge badge--bus badge--bus-${state} ${stale ? 'badge--stale' : ''}`}
      data-testid="bus-status"
      data-state={state}
      data-stale={stale}
      title={`${stale ? 'Last known (the live link is down): ' : ''}${busTitle(bus)}`}
    >
      <span className="badge__dot" aria-hidden />
      <span className="visually-hidden">Event bus: </span>
      {busText(bus)}
    </div>
  );
}
