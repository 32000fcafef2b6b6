/// <reference types="vitest/config" />
// Vite build of the dashboard. `npm run build` writes dist/, which the
// gateway embeds and serves at `/`. In dev, /api and /dashboard/ws are
// proxied to a running gateway (TACTICAL_LINK_URL, default 127.0.0.1:8080).

import { readFileSync } from 'node:fs';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };
const gateway = process.env.TACTICAL_LINK_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  plugins: [react()],
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
    },
  },
  test: {
    // Unit tests only; the browser tests in e2e/ run with Playwright (npm run e2e).
    include: ['src/**/*.test.ts'],
    exclude: ['e2e/**', 'node_modules/**', 'dist/**'],
    environment: 'node',
  },
});
