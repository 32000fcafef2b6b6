// Where the dashboard's access token comes from and where it is kept.
//
// A link such as `https://gateway/#token=eyJ…` hands the page a token: the
// fragment never leaves the browser (it is not sent to the server, nor in a
// Referer). The page takes it off the address bar at once (history.replaceState),
// so that a copied or shared URL does not carry it, and keeps it in
// sessionStorage: this tab only, gone when the tab closes. The prompt of the
// page stores what is pasted in the same place.

/** The fragment parameter that carries a token: `#token=…`. */
export const FRAGMENT_PARAM = 'token';
/** The sessionStorage key. */
export const STORAGE_KEY = 'tactical-link.token';

export type TokenStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export interface PageAddress {
  location: { href: string };
  history: { state: unknown; replaceState(data: unknown, unused: string, url?: string | URL | null): void };
}

/** Tidies a pasted token: surrounding space and a leading `Bearer ` go. Empty when nothing is left. */
export function cleanToken(text: string): string {
  return text.trim().replace(/^bearer\s+/i, '').trim();
}

/**
 * Takes `token=…` out of the URL fragment, if there, and rewrites the
 * address without it (other fragment parameters kept). Returns the token, or
 * null when the fragment had none (then the address is left alone).
 */
export function takeFragmentToken(page: PageAddress): string | null {
  let url: URL;
  try {
    url = new URL(page.location.href);
  } catch {
    return null;
  }
  if (url.hash.length <= 1) return null;
  const parts = url.hash.slice(1).split('&');
  const prefix = `${FRAGMENT_PARAM}=`;
  const found = parts.filter((part) => part.startsWith(prefix));
  if (found.length === 0) return null;
  const rest = parts.filter((part) => !part.startsWith(prefix) && part !== '');
  url.hash = rest.length ? `#${rest.join('&')}` : '';
  page.history.replaceState(page.history.state, '', url.toString());
  let token = found.at(-1)!.slice(prefix.length);
  try {
    token = decodeURIComponent(token);
  } catch {
    // Not percent-encoded after all: take it as it is.
  }
  return cleanToken(token) || null;
}

/** The token kept for this tab, if any. Storage that cannot be read (privacy settings) counts as empty. */
export function loadToken(storage: TokenStorage | null): string | null {
  try {
    return storage?.getItem(STORAGE_KEY) || null;
  } catch {
    return null;
  }
}

export function saveToken(storage: TokenStorage | null, token: string): void {
  try {
    storage?.setItem(STORAGE_KEY, token);
  } catch {
    // Not kept: the page still uses it until it is closed.
  }
}

export function forgetToken(storage: TokenStorage | null): void {
  try {
    storage?.removeItem(STORAGE_KEY);
  } catch {
    // Nothing could be kept either.
  }
}

/** Moves a `#token=` of the address into storage. Returns it, or null when the address had none. */
export function adoptFragmentToken(page: PageAddress, storage: TokenStorage | null): string | null {
  const token = takeFragmentToken(page);
  if (token !== null) saveToken(storage, token);
  return token;
}

/** The page's sessionStorage, or null where there is none or it may not be used. */
export function sessionStore(): TokenStorage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}
