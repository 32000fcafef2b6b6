// The two views of the screen, in its header: the timeline of one run, or
// the board of every run. Two toggle buttons (aria-pressed), reachable and
// usable by keyboard like any button.

export type ScreenView = 'timeline' | 'board';

interface Props {
  view: ScreenView;
  onView: (view: ScreenView) => void;
  /** Runs held, and how many of them have a stalled stage. */
  runs: number;
  stalled: number;
}

export function ViewSwitch({ view, onView, runs, stalled }: Props) {
  return (
    <div className="view-switch" role="group" aria-label="View">
      <button
        type="button"
        className="view-switch__button"
        data-testid="view-timeline"
        aria-pressed={view === 'timeline'}
        onClick={() => onView('timeline')}
      >
        Timeline
      </button>
      <button
        type="button"
        className="view-switch__button"
        data-testid="view-board"
        aria-pressed={view === 'board'}
        onClick={() => onView('board')}
      >
        Runs board <span className="view-switch__count">{runs}</span>
        {stalled > 0 && (
          <span className="view-switch__stalled" data-testid="view-board-stalled">
            {stalled} stalled
          </span>
        )}
      </button>
    </div>
  );
}
