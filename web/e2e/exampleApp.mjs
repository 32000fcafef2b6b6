// @ts-check
// The example React app (examples/react-app) as another team would have it:
// the two packages packed with `npm pack`, installed from those tarballs
// (not linked from the workspace) into a copy of the app in a temporary
// folder, type-checked against the declarations they ship, built with Vite
// and served by a small static server on a free port of 127.0.0.1.
//
// The install takes react, react-dom and Vite at the versions the example's
// package-lock.json pins, which are the workspace's: `--prefer-offline`
// takes them from npm's cache, which the workspace's `npm ci` has filled.

import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLE_DIR = path.resolve(WEB_DIR, '../examples/react-app');
const PACKAGES = ['@tactical-link/client', '@tactical-link/react'];

/** The environment without what `npm run` put in it (npm_config_*, npm_package_*), so child npm commands act on their own folder. */
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
}

/**
 * Runs a command to its end; throws with its output when it fails.
 * @param {string} cmd @param {string[]} args @param {string} cwd
 * @returns {Promise<string>}
 */
function run(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env: cleanEnv(), timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Forgets the lock entries of the packed packages, so that npm installs the
 * tarballs just packed: for a locked entry it would take the copy of that
 * integrity from its cache, an older build.
 * @param {string} lockFile
 */
async function unlockPackages(lockFile) {
  const lock = JSON.parse(await readFile(lockFile, 'utf8'));
  for (const name of PACKAGES) delete lock.packages[`node_modules/${name}`];
  await writeFile(lockFile, JSON.stringify(lock, null, 2));
}

/**
 * Packs both packages, installs them into a fresh copy of the example,
 * type-checks and builds it.
 * @returns {Promise<{ dist: string, tarballs: string[], remove: () => Promise<void> }>}
 */
export async function buildExampleApp() {
  const root = await mkdtemp(path.join(tmpdir(), 'tactical-link-example-'));
  const app = path.join(root, 'react-app');
  const skip = /(^|\/)(node_modules|dist|tarballs)(\/|$)/;
  await cp(EXAMPLE_DIR, app, { recursive: true, filter: (src) => !skip.test(path.relative(EXAMPLE_DIR, src)) });
  const tarballs = path.join(app, 'tarballs');
  await mkdir(tarballs);
  const workspaces = PACKAGES.flatMap((name) => ['--workspace', name]);
  const packed = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', tarballs, ...workspaces], WEB_DIR));
  await unlockPackages(path.join(app, 'package-lock.json'));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], app);
  await run(path.join(WEB_DIR, 'node_modules/.bin/tsc'), ['-p', app], app);
  await run(path.join(app, 'node_modules/.bin/vite'), ['build'], app);
  return {
    dist: path.join(app, 'dist'),
    tarballs: packed.map((/** @type {{ filename: string }} */ p) => p.filename),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

/**
 * Serves the files of `dir` on a free port of 127.0.0.1 (index.html for `/`).
 * @param {string} dir
 * @returns {Promise<{ origin: string, close: () => Promise<void> }>}
 */
export function serveStatic(dir) {
  const server = http.createServer(async (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    const file = path.join(dir, pathname === '/' ? 'index.html' : pathname);
    if (!file.startsWith(dir + path.sep)) return void res.writeHead(403).end();
    try {
      const body = await readFile(file);
      const type = TYPES[/** @type {keyof typeof TYPES} */ (path.extname(file))] ?? 'application/octet-stream';
      res.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ origin: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
