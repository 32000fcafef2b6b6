// @ts-check
// The real things the browser tests and the latency script run against: a
// redis-server and the tactical-link gateway binary, each started on a free
// port of 127.0.0.1 and stopped by the caller, plus a small Redis publisher.
//
// Plain JavaScript (typed with JSDoc, checked by tsc) so that both the
// Playwright fixtures (TypeScript) and `npm run latency` (plain node) use it.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Debian's Chromium: Playwright cannot download its own browsers here. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Flags for a quiet, headless Chromium in a container (each context gets a fresh profile anyway). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** How long a process may take to say it is ready. */
const START_TIMEOUT_MS = 15_000;
/** How long a process may take to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 10_000;
/** Output kept per process, for failure messages. */
const MAX_LOG_CHARS = 64 * 1024;

/**
 * The gateway binary: `TACTICAL_LINK_BIN` (relative to web/ when relative),
 * default ../target/debug/tactical-link.
 * @returns {string}
 */
export function gatewayBinary() {
  const bin = path.resolve(WEB_DIR, process.env.TACTICAL_LINK_BIN ?? '../target/debug/tactical-link');
  if (!existsSync(bin)) {
    throw new Error(
      `gateway binary not found at ${bin}: build it (cargo build --bin tactical-link) or set TACTICAL_LINK_BIN`,
    );
  }
  return bin;
}

/**
 * A port that was free a moment ago (the kernel's pick for port 0).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port from the kernel'))));
    });
  });
}

/**
 * A child process with its output kept, and a way to stop it.
 */
export class Proc {
  /**
   * @param {string} name
   * @param {string} command
   * @param {string[]} args
   */
  constructor(name, command, args) {
    this.name = name;
    this.command = command;
    this.args = args;
    /** @type {string} */
    this.log = '';
    // NO_COLOR: plain logs for failure reports.
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    /** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} */
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => resolve({ code, signal }));
      this.child.on('error', (err) => {
        this.append(`[spawn error] ${err.message}\n`);
        resolve({ code: -1, signal: null });
      });
    });
    /** @type {{ code: number | null, signal: NodeJS.Signals | null } | null} */
    this.exitStatus = null;
    void this.exited.then((status) => (this.exitStatus = status));
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (chunk) => this.append(chunk));
    this.child.stderr.on('data', (chunk) => this.append(chunk));
  }

  /** @param {string} text */
  append(text) {
    this.log += text;
    if (this.log.length > MAX_LOG_CHARS) this.log = this.log.slice(-MAX_LOG_CHARS);
  }

  get running() {
    return this.exitStatus === null;
  }

  /**
   * Waits until `pattern` shows in the output; fails if the process exits first.
   * @param {RegExp} pattern
   * @param {number} [timeoutMs]
   * @returns {Promise<RegExpMatchArray>}
   */
  waitFor(pattern, timeoutMs = START_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.log.match(pattern);
        if (match) {
          done();
          resolve(match);
        }
      };
      const onExit = () => {
        // Output may still be in flight when 'exit' fires.
        setTimeout(() => {
          check();
          done();
          reject(new Error(`${this.name} exited (${JSON.stringify(this.exitStatus)}) before ${pattern}:\n${this.log}`));
        }, 50);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no ${pattern} within ${timeoutMs} ms:\n${this.log}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.child.stdout.off('data', check);
        this.child.stderr.off('data', check);
        this.child.off('exit', onExit);
      };
      this.child.stdout.on('data', check);
      this.child.stderr.on('data', check);
      this.child.on('exit', onExit);
      if (!this.running) onExit();
      check();
    });
  }

  /**
   * Sends a signal (SIGSTOP / SIGCONT pause and resume it).
   * @param {NodeJS.Signals} signal
   */
  signal(signal) {
    if (this.running) this.child.kill(signal);
  }

  /**
   * SIGTERM, then SIGKILL if it has not exited in time. Resolves once it has exited.
   * @param {NodeJS.Signals} [signal]
   */
  async stop(signal = 'SIGTERM') {
    if (!this.running) return this.exitStatus;
    this.child.kill(signal);
    // A paused process gets its SIGTERM only once resumed.
    if (signal !== 'SIGKILL') this.child.kill('SIGCONT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A redis-server of its own on a free port, nothing saved to disk.
 * @returns {Promise<{ proc: Proc, port: number, url: string }>}
 */
export async function startRedis() {
  let lastError = /** @type {unknown} */ (null);
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    const proc = new Proc(`redis-server :${port}`, 'redis-server', [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--daemonize', 'no',
      '--loglevel', 'notice',
    ]);
    try {
      await proc.waitFor(/Ready to accept connections/);
      return { proc, port, url: `redis://127.0.0.1:${port}` };
    } catch (err) {
      // Most likely someone took the port in between: try another.
      lastError = err;
      await proc.stop('SIGKILL');
    }
  }
  throw lastError;
}

/**
 * `tactical-link serve --redis URL --listen 127.0.0.1:PORT` (port 0 by
 * default), ready once it prints its listening line.
 * @param {{ redisUrl: string, port?: number, args?: string[] }} options
 * @returns {Promise<{ proc: Proc, port: number, url: string }>}
 */
export async function startGateway({ redisUrl, port = 0, args = [] }) {
  const proc = new Proc(`tactical-link :${port}`, gatewayBinary(), [
    'serve',
    '--listen', `127.0.0.1:${port}`,
    '--redis', redisUrl,
    ...args,
  ]);
  try {
    const match = await proc.waitFor(/tactical-link listening on (http:\/\/127\.0\.0\.1:(\d+))/);
    return { proc, port: Number(match[2]), url: /** @type {string} */ (match[1]) };
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
}

/**
 * Runs a tactical-link subcommand to the end (`publish`, `simulate`, …).
 * @param {string[]} args
 * @param {number} [timeoutMs]
 * @returns {Promise<string>} its output
 */
export async function runCli(args, timeoutMs = 30_000) {
  const proc = new Proc(`tactical-link ${args[0] ?? ''}`, gatewayBinary(), args);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  const status = await proc.exited;
  clearTimeout(timer);
  if (status.code !== 0) throw new Error(`tactical-link ${args.join(' ')} failed (${JSON.stringify(status)}):\n${proc.log}`);
  return proc.log;
}

/**
 * A minimal Redis client for PUBLISH (RESP over one TCP connection): no
 * process per message, so the latency script measures the gateway and the
 * page, not process start-up.
 */
export class RedisPublisher {
  /** @param {number} port */
  constructor(port) {
    this.port = port;
    /** @type {net.Socket | null} */
    this.socket = null;
    this.buffer = '';
    /** @type {Array<{ resolve: (v: string) => void, reject: (e: Error) => void }>} */
    this.waiting = [];
  }

  /** @returns {Promise<void>} */
  connect() {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host: '127.0.0.1', port: this.port });
      socket.setNoDelay(true);
      socket.setEncoding('utf8');
      socket.once('connect', () => {
        this.socket = socket;
        resolve();
      });
      socket.on('error', (err) => {
        reject(err);
        for (const w of this.waiting.splice(0)) w.reject(err);
      });
      socket.on('data', (chunk) => {
        this.buffer += chunk;
        // Integer, status and error replies only (all PUBLISH and PING answer with).
        let end;
        while ((end = this.buffer.indexOf('\r\n')) >= 0) {
          const line = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          const waiter = this.waiting.shift();
          if (!waiter) continue;
          if (line.startsWith('-')) waiter.reject(new Error(`redis: ${line.slice(1)}`));
          else waiter.resolve(line.slice(1));
        }
      });
    });
  }

  /**
   * @param {string[]} args
   * @returns {Promise<string>}
   */
  command(args) {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error('not connected'));
    let out = `*${args.length}\r\n`;
    for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      socket.write(out);
    });
  }

  /**
   * PUBLISH `message` (an object is sent as JSON) on `channel`; resolves to the number of subscribers that got it.
   * @param {unknown} message
   * @param {string} [channel]
   * @returns {Promise<number>}
   */
  async publish(message, channel = 'system_events') {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    return Number(await this.command(['PUBLISH', channel, text]));
  }

  close() {
    this.socket?.end();
    this.socket = null;
  }
}
