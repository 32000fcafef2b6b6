/// <reference types="vitest/config" />
// Vite build of the dashboard. `npm run build` writes dist/, which the
// gateway embeds and serves at `/`. In dev, /api, /healthz, /dashboard/ws
// and /dashboard/sse are proxied to a running gateway (TACTICAL_LINK_URL,
// default 127.0.0.1:8080).
//
// The dashboard is built from the workspace packages @tactical-link/client
// and @tactical-link/react, read from their sources through the
// `tactical-link-source` export condition (their package.json), so neither
// needs building first; `npm pack` builds their dist/ for other apps.

import { readFileSync } from 'node:fs';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defaultServerConditions, defineConfig } from 'vite';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };
const gateway = process.env.TACTICAL_LINK_URL ?? 'http://127.0.0.1:8080';
const SOURCE = 'tactical-link-source';

export default defineConfig({
  base: '/',
  plugins: [react()],
  resolve: { conditions: [SOURCE, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE, ...defaultServerConditions], externalConditions: [SOURCE] } },
  define: {
    __APP_VERSION__: JSON.stringify(pkg.version),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/api': gateway,
      '/healthz': gateway,
      '/dashboard/ws': { target: gateway.replace(/^http/, 'ws'), ws: true },
      '/dashboard/sse': gateway,
    },
  },
  test: {
    // Unit tests of the dashboard and of both packages; the browser tests in
    // e2e/ run with Playwright (npm run e2e). A test file that needs a DOM
    // says so (`// @vitest-environment happy-dom`).
    include: ['src/**/*.test.{ts,tsx}', 'packages/*/src/**/*.test.{ts,tsx}'],
    exclude: ['e2e/**', '**/node_modules/**', '**/dist/**'],
    environment: 'node',
  },
});
