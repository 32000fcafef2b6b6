// Entry point: takes a `#token=` off the address (into the tab's session
// storage, see lib/token.ts), then mounts the dashboard.

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { adoptFragmentToken, sessionStore } from './lib/token';
import '@tactical-link/react/styles.css';
import './styles/page.css';
import './styles/screen.css';
import './styles/auth.css';

adoptFragmentToken(window, sessionStore());

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
