// "Token expires soon": a banner over the timeline while the live link's
// token has little time left (the rule: ../model/expiry.ts), counting down
// mm:ss, with a field to paste a fresh token. The fresh token is sent on the
// live socket as a renewal (no reconnect, no events lost); the banner goes
// once the gateway's new `authenticated` frame moves the expiry later.
//
// A paste that cannot be a renewal (not a JWT, another user, no later
// expiry) is refused here with the reason, and the link stays as it is. A
// token the gateway refuses closes the link (4501): the banner goes with the
// live link and the token prompt ("Token refused") takes over.
//
// Accessibility: the message is a polite status region; the ticking mm:ss is
// hidden from it and a coarse "in less than N minutes" is read instead, so a
// screen reader is not told every second. The banner never takes focus.

import { useId, useState, type FormEvent } from 'react';
import { useNow } from '@tactical-link/react';
import type { AuthInfo } from '@tactical-link/client';
import { cleanToken } from '../../../lib/token';
import { checkRenewal, expiryView, formatCountdown, spokenRemaining } from '../model/expiry';
import { TokenField } from './TokenField';

interface Props {
  /** Where authentication stands on the link (`link.auth`). */
  auth: AuthInfo;
  /** The link is live: a renewal can go on the socket now. */
  live: boolean;
  /** The token the page holds (the latest given), for the lifetime of the token in force. */
  token: string | null;
  /** Gets a checked token; the page stores it and sends it as a renewal. */
  onRenew: (token: string) => void;
}

/** The expiry in force, when the page first saw it, and the token the page held then. */
interface Seen {
  expiresAt: string | null;
  at: number;
  token: string | null;
}

export function ExpiryWarning({ auth, live, token, onRenew }: Props) {
  const id = useId();
  const identity = auth.phase === 'authenticated' ? auth.identity : null;
  const expiresAt = identity?.expires_at ?? null;

  // A new expiry (first authentication, or a renewal answered): note when,
  // and which token the page held then (a renewal pasted later must not
  // change the lifetime of the token still in force).
  const [seen, setSeen] = useState<Seen>(() => ({ expiresAt, at: Date.now(), token }));
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const current = seen.expiresAt === expiresAt ? seen : { expiresAt, at: Date.now(), token };
  if (current !== seen) {
    // What was typed or refused was about the token before.
    setSeen(current);
    setValue('');
    setError(null);
  }
  /** The expiry in force when a renewal was sent: pending while it still is. */
  const [sentFor, setSentFor] = useState<string | null>(null);

  const active = live && identity !== null && expiresAt !== null;
  const [shown, setShown] = useState(false);
  const now = useNow(shown ? 250 : 1000, active);
  const view = active ? expiryView({ expiresAt, now, token: current.token, seenAtMs: current.at }) : { show: false as const };
  if (view.show !== shown) setShown(view.show);

  if (!view.show || identity === null) return null;

  const pending = sentFor !== null && sentFor === expiresAt;

  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const fresh = cleanToken(value);
    if (!fresh) {
      setError('Paste a token first.');
      return;
    }
    const check = checkRenewal(fresh, identity);
    if (!check.ok) {
      setError(check.message);
      return;
    }
    setValue('');
    setError(null);
    setSentFor(expiresAt);
    onRenew(check.token);
  };

  return (
    <ExpiryBanner
      id={id}
      remainingMs={view.remainingMs}
      pending={pending}
      value={value}
      error={error}
      onChange={(next) => {
        setValue(next);
        if (error !== null) setError(null);
      }}
      onSubmit={submit}
    />
  );
}

interface BannerProps {
  /** Prefix of the element ids. */
  id: string;
  remainingMs: number;
  /** A renewal was sent and the expiry in force has not moved yet. */
  pending: boolean;
  value: string;
  error: string | null;
  onChange: (value: string) => void;
  onSubmit: (e: FormEvent<HTMLFormElement>) => void;
}

function ExpiryBanner({ id, remainingMs, pending, value, error, onChange, onSubmit }: BannerProps) {
  return (
    <section
      className="expiry-warning"
      data-testid="expiry-warning"
      data-pending={pending ? 'true' : 'false'}
      aria-labelledby={`${id}-title`}
    >
      <p className="expiry-warning__text" role="status" aria-live="polite" aria-atomic="true">
        <strong className="expiry-warning__title" id={`${id}-title`}>
          Access token expires {remainingMs > 0 ? 'soon' : 'now'}
        </strong>{' '}
        <span className="expiry-warning__countdown" data-testid="expiry-countdown" aria-hidden="true">
          {formatCountdown(remainingMs)}
        </span>
        <span className="visually-hidden">: {spokenRemaining(remainingMs)}.</span>{' '}
        {pending
          ? 'Renewal sent; waiting for the gateway.'
          : 'Paste a fresh token to stay connected: the live link is renewed in place.'}
      </p>
      <form className="expiry-warning__form" onSubmit={onSubmit} noValidate>
        <label className="field-label expiry-warning__label" htmlFor={`${id}-token`}>
          Fresh access token
        </label>
        <TokenField
          id={`${id}-token`}
          className="input expiry-warning__input"
          testId="expiry-token-input"
          value={value}
          aria-invalid={error !== null ? true : undefined}
          aria-describedby={error !== null ? `${id}-error` : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
        <button type="submit" className="button button--small" data-testid="expiry-renew">
          Renew
        </button>
      </form>
      {error !== null && (
        <p className="expiry-warning__error" id={`${id}-error`} role="alert" data-testid="expiry-error">
          {error}
        </p>
      )}
    </section>
  );
}
