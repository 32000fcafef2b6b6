// The field a token is pasted into, wherever the page asks for one (the
// token prompt, the expiry warning): masked like a password, never filled
// in, corrected or capitalised by the browser, with a JWT-shaped
// placeholder. One component so that both places behave alike.

import type { InputHTMLAttributes, Ref } from 'react';

type Fixed = 'type' | 'name' | 'autoComplete' | 'autoCapitalize' | 'spellCheck' | 'placeholder';

export interface TokenFieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, Fixed> {
  /** The stable `data-testid` of this field. */
  testId: string;
  inputRef?: Ref<HTMLInputElement>;
}

export function TokenField({ testId, inputRef, ...rest }: TokenFieldProps) {
  return (
    <input
      {...rest}
      ref={inputRef}
      name="token"
      type="password"
      autoComplete="off"
      autoCapitalize="off"
      spellCheck={false}
      placeholder="eyJhbGciOi…"
      data-testid={testId}
    />
  );
}
