// Told after a reconnect that could not resume (snapshot.resume_failed): the
// events between the last one seen and now were not replayed, so the stages
// show the current state but the log has a gap. Stays until dismissed.

interface Props {
  /** The event id the page asked to resume from. */
  lastId: string;
  onDismiss: () => void;
}

export function ResumeNotice({ lastId, onDismiss }: Props) {
  return (
    <div className="stale-banner stale-banner--resume" role="alert" data-testid="resume-notice" data-last-id={lastId}>
      <p className="stale-banner__text">
        Reconnected, but the events after <code className="stale-banner__id">#{lastId}</code> could not be replayed
        (no longer retained by the gateway). Showing the current state; the event log may have a gap.
      </p>
      <button
        type="button"
        className="button button--ghost button--small"
        data-testid="resume-notice-dismiss"
        onClick={onDismiss}
      >
        Dismiss
      </button>
    </div>
  );
}
