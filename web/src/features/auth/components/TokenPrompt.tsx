// Asks for an access token when the gateway requires one and the page has
// none that works: none yet, refused (4501) or expired (4401). A labelled
// password field (a token is a credential: not shown, not autocompleted) and
// a submit button; the reason is announced. Shown inside the boot console, or
// as a modal dialog over the timeline (which is made inert meanwhile).

import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { TokenNeed } from '@tactical-link/client';
import { cleanToken } from '../../../lib/token';
import { TokenField } from './TokenField';

interface Props {
  need: TokenNeed;
  variant: 'inline' | 'overlay';
  /** Gets the cleaned token; the page stores it and reconnects. */
  onSubmit: (token: string) => void;
  /** What the gateway said when it closed the link, if anything. */
  detail?: string | null;
}

const TITLE: Record<TokenNeed, string> = {
  missing: 'Access token required',
  refused: 'Token refused',
  expired: 'Token expired',
};

const MESSAGE: Record<TokenNeed, string> = {
  missing: 'This gateway relays events to authenticated dashboards only. Paste the access token you were given.',
  refused: 'The gateway did not accept that token (malformed, signed with another key, or for another issuer). Paste another one.',
  expired: 'The token has run out. Paste a fresh one: the timeline picks up where it stopped.',
};

export function TokenPrompt({ need, variant, onSubmit, detail }: Props) {
  const id = useId();
  const inputRef = useRef<HTMLInputElement>(null);
  const [value, setValue] = useState('');
  const [empty, setEmpty] = useState(false);

  useEffect(() => inputRef.current?.focus(), []);

  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const token = cleanToken(value);
    if (!token) {
      setEmpty(true);
      inputRef.current?.focus();
      return;
    }
    setValue('');
    setEmpty(false);
    onSubmit(token);
  };

  const overlay = variant === 'overlay';
  const body = (
    <section
      className={`token-prompt token-prompt--${variant} token-prompt--${need}`}
      data-testid="token-prompt"
      data-need={need}
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-message`}
      {...(overlay ? { role: 'dialog', 'aria-modal': true } : {})}
    >
      <h2 className="token-prompt__title" id={`${id}-title`}>
        <span className="token-prompt__mark" aria-hidden>
          ◆
        </span>{' '}
        {TITLE[need]}
      </h2>
      {/* Announced when the prompt comes back after a refusal or an expiry. */}
      <p className="token-prompt__message" id={`${id}-message`} role={need === 'missing' ? undefined : 'alert'}>
        {MESSAGE[need]}
        {detail && need !== 'missing' ? <span className="token-prompt__detail">Gateway: {detail}</span> : null}
      </p>
      <form className="token-prompt__form" onSubmit={submit} noValidate>
        <label className="field-label token-prompt__label" htmlFor={`${id}-token`}>
          Access token
        </label>
        <div className="token-prompt__row">
          <TokenField
            inputRef={inputRef}
            id={`${id}-token`}
            className="input token-prompt__input"
            testId="token-input"
            value={value}
            aria-invalid={empty || need === 'refused' ? true : undefined}
            aria-describedby={`${id}-hint${empty ? ` ${id}-empty` : ''}`}
            onChange={(e) => {
              setValue(e.target.value);
              if (empty) setEmpty(false);
            }}
          />
          <button type="submit" className="button" data-testid="token-submit">
            Connect
          </button>
        </div>
        {empty && (
          <p className="token-prompt__error" id={`${id}-empty`} role="alert">
            Paste a token first.
          </p>
        )}
        <p className="token-prompt__hint" id={`${id}-hint`}>
          Kept for this tab only (session storage). A link ending in <code>#token=…</code> works too; the page removes
          it from the address bar.
        </p>
      </form>
    </section>
  );
  return overlay ? <div className="token-overlay">{body}</div> : body;
}
