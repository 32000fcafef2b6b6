// Inline SVG icons: one per status (state is never shown by colour alone)
// and one per stage. Decorative: the text next to them carries the meaning.

import type { ReactNode } from 'react';
import type { Stage, Status } from '@tactical-link/client';

interface IconProps {
  className?: string;
}

export function StatusIcon({ status, className }: IconProps & { status: Status }) {
  const common = { className: `status-icon status-icon--${status} ${className ?? ''}`, viewBox: '0 0 16 16', 'aria-hidden': true } as const;
  switch (status) {
    case 'idle':
      return (
        <svg {...common}>
          <circle cx="8" cy="8" r="5.5" fill="none" stroke="currentColor" strokeWidth="1.5" strokeDasharray="2.2 2.2" />
        </svg>
      );
    case 'processing':
      return (
        <svg {...common}>
          <circle cx="8" cy="8" r="5.5" fill="none" stroke="currentColor" strokeOpacity="0.25" strokeWidth="2" />
          <path className="status-icon__arc" d="M8 2.5a5.5 5.5 0 0 1 5.5 5.5" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
        </svg>
      );
    case 'complete':
      return (
        <svg {...common}>
          <circle cx="8" cy="8" r="6.5" fill="currentColor" />
          <path d="M5 8.2l2 2 4-4.2" fill="none" stroke="var(--tl-icon-ink)" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      );
    case 'error':
      return (
        <svg {...common}>
          <path d="M8 1.8l6.4 11.4H1.6z" fill="currentColor" strokeLinejoin="round" />
          <path d="M8 6v3.4" stroke="var(--tl-icon-ink)" strokeWidth="1.7" strokeLinecap="round" />
          <circle cx="8" cy="11.4" r="0.95" fill="var(--tl-icon-ink)" />
        </svg>
      );
  }
}

const STAGE_PATHS: Record<Stage, ReactNode> = {
  radar: (
    <>
      <circle cx="12" cy="12" r="8.5" />
      <circle cx="12" cy="12" r="4.5" />
      <path d="M12 12l6-6" />
      <circle cx="15.5" cy="9.5" r="0.9" fill="currentColor" />
    </>
  ),
  analyst: (
    <>
      <path d="M4 20h16" />
      <path d="M7 16v-4M12 16V7M17 16v-6" />
    </>
  ),
  advisor: (
    <>
      <path d="M9 18h6M10 21h4" />
      <path d="M12 3a6 6 0 0 0-3.5 10.9c.6.5 1 1.2 1 2.1h5c0-.9.4-1.6 1-2.1A6 6 0 0 0 12 3z" />
    </>
  ),
  actuator: <path d="M13 2.5L5 13.5h6l-1 8 8-11h-6z" />,
  quality: (
    <>
      <path d="M12 2.8l7.5 3v5.7c0 4.6-3.2 8.3-7.5 9.7-4.3-1.4-7.5-5.1-7.5-9.7V5.8z" />
      <path d="M8.6 12.2l2.3 2.3 4.5-4.7" />
    </>
  ),
  report: (
    <>
      <path d="M6 2.8h8l4 4v14.4H6z" />
      <path d="M14 2.8v4h4M9 12h6M9 15.5h6M9 19h3.5" />
    </>
  ),
};

export function StageGlyph({ stage, className }: IconProps & { stage: Stage }) {
  return (
    <svg
      className={`stage-glyph ${className ?? ''}`}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.6"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden
    >
      {STAGE_PATHS[stage]}
    </svg>
  );
}

export function LogoMark({ className }: IconProps) {
  return (
    <svg className={className} viewBox="0 0 32 32" aria-hidden>
      <path d="M16 2.5l11.7 6.75v13.5L16 29.5 4.3 22.75V9.25z" fill="none" stroke="currentColor" strokeWidth="1.6" />
      <path d="M9 16h4l2-5 3 10 2-5h3" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
