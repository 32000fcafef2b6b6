// The System Boot screen: a console that runs the real start-up checks, line
// by line, and gives way to the timeline as soon as every blocking check
// passes. Escape, Enter or Space skip it (not while typing in a field). With
// reduced motion, no animation. The page may put a prompt under the lines
// (the access-token form, when the gateway wants a token).

import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { useNow } from '../hooks/useNow.js';
import { usePrefersReducedMotion } from '../hooks/usePrefersReducedMotion.js';
import { statusUrlFor } from '@tactical-link/client';
import { useGatewayProbe } from '../hooks/useGatewayProbe.js';
import { useLinkStatus, usePipelineState, useTacticalLink } from '../hooks/useTacticalLink.js';
import { VERSION } from '../version.js';
import { bootComplete, deriveChecks, type BootCheck, type BootInputs, type GatewayProbe } from './checks.js';

/** Delay between two lines appearing (6 lines: under a second in all). */
const LINE_STAGGER_MS = 140;
/** How long the final "nominal" line stays before the timeline opens. */
const HOLD_MS = 320;

interface Props {
  inputs: BootInputs;
  onDone: () => void;
  /** Shown under the checks, e.g. the token prompt. */
  prompt?: ReactNode;
}

/** Keys typed into a form field are the field's, not the skip shortcut's. */
function inField(target: EventTarget | null): boolean {
  return target instanceof Element && target.closest('input, textarea, select, [contenteditable="true"]') !== null;
}

function dots(label: string): string {
  return '.'.repeat(Math.max(3, 24 - label.length));
}

function Line({ check, index, revealed }: { check: BootCheck; index: number; revealed: boolean }) {
  return (
    <li
      className={`boot-line boot-line--${check.state} ${revealed ? 'is-revealed' : ''}`}
      data-testid="boot-check"
      data-check={check.id}
      data-state={check.state}
      style={{ ['--i' as string]: index }}
    >
      <span className="boot-line__badge" aria-hidden>
        [<span className="boot-line__badge-text">{check.badge}</span>]
      </span>
      <span className="boot-line__label">
        {check.label}
        <span className="boot-line__dots" aria-hidden>
          {' '}
          {dots(check.label)}
        </span>
      </span>
      <span className="boot-line__detail">
        <span className="visually-hidden">{check.badge}: </span>
        {check.detail}
      </span>
    </li>
  );
}

/** How many lines are on screen: one more every LINE_STAGGER_MS (all at once with reduced motion). */
function useReveal(count: number, reducedMotion: boolean): number {
  const [revealed, setRevealed] = useState(reducedMotion ? count : 0);
  useEffect(() => {
    if (reducedMotion) {
      setRevealed(count);
      return;
    }
    if (revealed >= count) return;
    const id = setTimeout(() => setRevealed((n) => n + 1), revealed === 0 ? 60 : LINE_STAGGER_MS);
    return () => clearTimeout(id);
  }, [revealed, reducedMotion, count]);
  return revealed;
}

/**
 * Calls `onDone` a short hold after `ready`, or at once on Escape / Enter /
 * Space (checks pending or not). Returns the function the Skip button calls.
 */
function useDone(onDone: () => void, ready: boolean, reducedMotion: boolean): () => void {
  const doneRef = useRef(onDone);
  useEffect(() => {
    doneRef.current = onDone;
  });
  useEffect(() => {
    if (!ready) return;
    const id = setTimeout(() => doneRef.current(), reducedMotion ? 0 : HOLD_MS);
    return () => clearTimeout(id);
  }, [ready, reducedMotion]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (inField(e.target)) return;
      if (e.key === 'Escape' || e.key === 'Enter' || e.key === ' ' || e.key === 'Spacebar') {
        e.preventDefault();
        doneRef.current();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return useCallback(() => doneRef.current(), []);
}

/** The last line of the console, once every check is on screen. */
function summaryOf(checks: BootCheck[], complete: boolean): string {
  const failing = checks.find((c) => c.state === 'failed');
  if (complete) return checks.some((c) => c.state === 'degraded') ? 'OPERATIONAL — EVENT BUS DEGRADED' : 'ALL SYSTEMS NOMINAL';
  if (failing?.id === 'auth') return 'HOLDING — ACCESS TOKEN NEEDED';
  return failing ? `HOLDING — ${failing.label.toUpperCase()} FAILED, RETRYING` : 'INITIALISING';
}

function toneOf(checks: BootCheck[], complete: boolean, allShown: boolean): string {
  if (!allShown) return 'pending';
  if (complete) return checks.some((c) => c.state === 'degraded') ? 'degraded' : 'ok';
  return checks.some((c) => c.state === 'failed') ? 'failed' : 'pending';
}

interface FooterProps {
  checks: BootCheck[];
  complete: boolean;
  revealed: number;
  /** The Skip button takes the focus (when no prompt does). */
  focusSkip: boolean;
  onSkip: () => void;
}

function BootFooter({ checks, complete, revealed, focusSkip, onSkip }: FooterProps) {
  const allShown = revealed >= checks.length;
  // The meter counts checks that have passed and are on screen.
  const passed = checks.filter((c, i) => i < revealed && (c.state === 'ok' || c.state === 'degraded')).length;
  const skipRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (focusSkip) skipRef.current?.focus();
  }, [focusSkip]);
  return (
    <div className="boot__footer">
      <div
        className={`boot__summary boot__summary--${toneOf(checks, complete, allShown)}`}
        data-testid="boot-summary"
        role="status"
        aria-live="polite"
      >
        {allShown ? summaryOf(checks, complete) : 'INITIALISING'}
        {(!complete || !allShown) && <span className="boot__cursor" aria-hidden />}
      </div>
      <div className="boot__meter" aria-hidden>
        <span style={{ width: `${(passed / checks.length) * 100}%` }} />
      </div>
      <div className="boot__skip">
        <span className="boot__hint">
          Press <kbd>Enter</kbd>, <kbd>Space</kbd> or <kbd>Esc</kbd> to skip
        </span>
        <button ref={skipRef} type="button" className="button button--ghost button--small" data-testid="boot-skip" onClick={onSkip}>
          Skip
        </button>
      </div>
    </div>
  );
}

/** The boot screen, from what it is given (SystemBoot reads the same from the provider). */
export function SystemBootView({ inputs, onDone, prompt }: Props) {
  const reducedMotion = usePrefersReducedMotion();
  const now = useNow(250);
  const checks = deriveChecks(inputs, now);
  const complete = bootComplete(checks);
  const revealed = useReveal(checks.length, reducedMotion);
  // Done: every blocking check ok and every line on screen, then a short hold.
  const done = useDone(onDone, complete && revealed >= checks.length, reducedMotion);
  // The prompt, when there is one, takes the focus itself.
  const hasPrompt = prompt !== undefined && prompt !== null;

  return (
    <div className={`boot ${reducedMotion ? 'boot--still' : ''}`} data-testid="system-boot" data-complete={complete}>
      <div className="boot__grid" aria-hidden />
      <div className="boot__console" role="region" aria-labelledby="boot-title">
        <header className="boot__header">
          <span className="boot__title" id="boot-title">
            TACTICAL LINK <span className="boot__sep">//</span> SYSTEM BOOT
          </span>
          <span className="boot__version">v{inputs.version}</span>
        </header>
        <p className="boot__target">
          <span className="boot__prompt">&gt;</span> link {inputs.wsUrl}
        </p>
        <ol className="boot__lines" aria-label="Start-up checks">
          {checks.map((check, i) => (
            <Line key={check.id} check={check} index={i} revealed={i < revealed} />
          ))}
        </ol>
        {prompt}
        <BootFooter checks={checks} complete={complete} revealed={revealed} focusSkip={!hasPrompt} onSkip={done} />
      </div>
    </div>
  );
}

export interface SystemBootProps {
  /** Called once every blocking check has passed (after a short hold), or when the user skips. */
  onDone: () => void;
  /** Shown under the checks, e.g. an access-token form. */
  prompt?: ReactNode;
  /** The version on the console's first line. Default: this package's. */
  version?: string;
  /** The gateway's status endpoint. Default: /api/status on the host of the provider's URL. */
  statusUrl?: string;
  /** A probe of /api/status the page already runs (else the boot screen runs its own). */
  probe?: GatewayProbe;
}

/** The System Boot screen of the provider's link: real checks, line by line, then `onDone`. */
export function SystemBoot({ onDone, prompt, version = VERSION, statusUrl, probe }: SystemBootProps) {
  const { url } = useTacticalLink();
  const status = statusUrl ?? statusUrlFor(url);
  const own = useGatewayProbe(probe ? null : status);
  const link = useLinkStatus();
  const state = usePipelineState();
  const inputs: BootInputs = {
    version,
    statusUrl: status,
    wsUrl: url,
    probe: probe ?? own,
    link,
    socketBus: state.bus,
    welcome: state.welcome,
    snapshot: { received: state.snapshotReceived, runs: Object.keys(state.runs).length, events: state.events.length },
  };
  return (
    <div className="tl">
      <SystemBootView inputs={inputs} onDone={onDone} prompt={prompt} />
    </div>
  );
}
