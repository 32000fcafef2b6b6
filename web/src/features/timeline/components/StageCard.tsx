// One stage of the selected run: status (icon + word), latest detail,
// elapsed time while processing, duration when done, the reason on error.

import { memo } from 'react';
import type { Stage } from '../../../lib/socket/frames';
import type { StageView } from '../../../store/runs';
import { Elapsed } from '../../../ui/Elapsed';
import { StageGlyph, StatusIcon } from '../../../ui/icons';
import { STAGE_LABEL, STAGE_ROLE, STATUS_LABEL } from '../../../ui/labels';

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

// A stage's view object changes only when that stage does.
export const StageCard = memo(function StageCard({ stage, index, view }: Props) {
  const label = STAGE_LABEL[stage];
  // An error event's detail is usually its reason: say it once.
  const detail = view.status === 'error' && view.detail === view.error ? null : view.detail;
  return (
    <li
      className={`stage stage--${view.status}`}
      data-testid={`stage-${stage}`}
      data-stage={stage}
      data-status={view.status}
      aria-label={`${label}: ${STATUS_LABEL[view.status]}`}
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
      <div className="stage__time">
        <Timing view={view} />
      </div>
    </li>
  );
});
