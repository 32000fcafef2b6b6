// One stage of the selected run: status (icon + word), latest detail,
// elapsed time while processing, duration when done, the reason on error;
// the attempt from the first retry on, a progress bar and the ETA while the
// publisher reports them, and a marker when the stage has stalled (processing
// past its deadline, as the gateway says).

import { memo } from 'react';
import { useNow } from '../hooks/useNow.js';
import { formatClock, formatDuration, type Stage, type StageView } from '@tactical-link/client';
import { Elapsed } from '../ui/Elapsed.js';
import { StageGlyph, StatusIcon } from '../ui/icons.js';
import { STAGE_LABEL, STAGE_ROLE, STATUS_LABEL } from '../ui/labels.js';

interface Props {
  stage: Stage;
  index: number;
  view: StageView;
}

function Timing({ view }: { view: StageView }) {
  const { status, startedAt, endedAt } = view;
  if (status === 'processing' && startedAt !== null) {
    return (
      <>
        <span className="stage__time-label">Elapsed</span>
        <span className="stage__time-value" data-testid="stage-elapsed">
          <Elapsed since={startedAt} until={null} />
        </span>
      </>
    );
  }
  if ((status === 'complete' || status === 'error') && startedAt !== null && endedAt !== null) {
    return (
      <>
        <span className="stage__time-label">{status === 'complete' ? 'Took' : 'Failed after'}</span>
        <span className="stage__time-value" data-testid="stage-duration">
          <Elapsed since={startedAt} until={endedAt} />
        </span>
      </>
    );
  }
  return <span className="stage__time-label">{status === 'idle' ? 'Standing by' : '—'}</span>;
}

/** How much of the stage is done, while it is processing and its publisher says. */
function Progress({ label, value }: { label: string; value: number }) {
  const shown = Math.round(Math.min(100, Math.max(0, value)));
  return (
    <div
      className="stage__progress"
      role="progressbar"
      aria-label={`${label} progress`}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={shown}
      aria-valuetext={`${shown} %`}
      data-testid="stage-progress"
    >
      <span className="stage__progress-track" aria-hidden>
        <span className="stage__progress-fill" style={{ width: `${shown}%` }} />
      </span>
      <span className="stage__progress-value" aria-hidden>
        {shown} %
      </span>
    </div>
  );
}

/** When the stage expects to be done: the time, and how long until then (or that it is past). */
function Eta({ at }: { at: number }) {
  const now = useNow(1000);
  const left = at - now;
  return (
    <p className="stage__eta" data-testid="stage-eta">
      <span className="stage__eta-label">ETA</span> <time dateTime={new Date(at).toISOString()}>{formatClock(at).slice(0, 8)}</time>
      <span className="stage__eta-left">{left > 0 ? ` · ${formatDuration(left)} left` : ' · due'}</span>
    </p>
  );
}

/** Attempt (from the first retry on) and the stalled marker, beside the status. */
function Markers({ view }: { view: StageView }) {
  if (view.attempt < 2 && !view.stalled) return null;
  return (
    <div className="stage__markers">
      {view.attempt >= 2 && (
        <span className="stage__attempt" data-testid="stage-attempt" title={`Run ${view.attempt} of this stage (a retry)`}>
          Attempt {view.attempt}
        </span>
      )}
      {view.stalled && (
        <span className="stage__stalled" data-testid="stage-stalled" title="Processing for longer than the stage's deadline">
          Stalled
        </span>
      )}
    </div>
  );
}

// A stage's view object changes only when that stage does.
export const StageCard = memo(function StageCard({ stage, index, view }: Props) {
  const label = STAGE_LABEL[stage];
  // An error event's detail is usually its reason: say it once.
  const detail = view.status === 'error' && view.detail === view.error ? null : view.detail;
  return (
    <li
      className={`stage stage--${view.status}${view.stalled ? ' stage--stalled' : ''}`}
      data-testid={`stage-${stage}`}
      data-stage={stage}
      data-status={view.status}
      data-stalled={view.stalled ? 'true' : undefined}
      data-attempt={view.attempt}
      aria-label={`${label}: ${STATUS_LABEL[view.status]}${view.stalled ? ', stalled' : ''}${view.attempt >= 2 ? `, attempt ${view.attempt}` : ''}`}
    >
      <div className="stage__head">
        <span className="stage__glyph-wrap">
          <StageGlyph stage={stage} className="stage__glyph" />
        </span>
        <div className="stage__title">
          <span className="stage__index">{String(index + 1).padStart(2, '0')}</span>
          <h3 className="stage__name">{label}</h3>
          <span className="stage__role">{STAGE_ROLE[stage]}</span>
        </div>
      </div>
      <div className={`status-chip status-chip--${view.status}`} data-testid="stage-status">
        <StatusIcon status={view.status} />
        <span>{STATUS_LABEL[view.status]}</span>
      </div>
      <Markers view={view} />
      <p
        className={`stage__detail ${detail === null ? 'stage__detail--empty' : ''}`}
        data-testid="stage-detail"
        title={detail ?? undefined}
      >
        {detail ?? <span className="muted">{view.status === 'error' ? 'Failed' : 'No detail yet'}</span>}
      </p>
      {view.status === 'error' && view.error !== null && (
        <p className="stage__error" data-testid="stage-error">
          <span className="visually-hidden">Error reason: </span>
          {view.error}
        </p>
      )}
      {view.status === 'processing' && view.progress !== null && <Progress label={label} value={view.progress} />}
      {view.status === 'processing' && view.eta !== null && <Eta at={view.eta} />}
      <div className="stage__time">
        <Timing view={view} />
      </div>
    </li>
  );
});
