// Who the gateway takes the page for, once it has authenticated it: user and
// tenant, with the roles and the token's expiry in the tooltip.

import { formatClock, parseRfc3339, type AuthInfo } from '@tactical-link/client';

export function identityText(auth: AuthInfo): string | null {
  if (auth.phase !== 'authenticated') return null;
  const { sub, tenant } = auth.identity;
  return tenant === null ? sub : `${sub} · ${tenant}`;
}

export function IdentityBadge({ auth }: { auth: AuthInfo }) {
  const text = identityText(auth);
  if (auth.phase !== 'authenticated' || text === null) return null;
  const { roles, expires_at } = auth.identity;
  const until = expires_at === null ? null : parseRfc3339(expires_at);
  const title = [
    roles.length ? `roles: ${roles.join(', ')}` : 'no roles',
    until === null ? null : `token valid until ${formatClock(until)}`,
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <div className="badge badge--identity" data-testid="identity" title={title}>
      <span className="visually-hidden">Signed in as </span>
      {text}
    </div>
  );
}
