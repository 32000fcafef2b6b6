// Words the timeline shows for stages and statuses.

import type { Outcome, Stage, Status } from '@tactical-link/client';

export const STAGE_LABEL: Record<Stage, string> = {
  radar: 'Radar',
  analyst: 'Analyst',
  advisor: 'Advisor',
  actuator: 'Actuator',
  quality: 'Quality',
  report: 'Report',
};

export const STAGE_ROLE: Record<Stage, string> = {
  radar: 'Signal intake',
  analyst: 'Scoring',
  advisor: 'Recommendation',
  actuator: 'Execution',
  quality: 'Verification',
  report: 'Briefing',
};

export const STATUS_LABEL: Record<Status, string> = {
  idle: 'Idle',
  processing: 'Processing',
  complete: 'Complete',
  error: 'Error',
};

export const OUTCOME_LABEL: Record<Outcome, string> = {
  running: 'Running',
  complete: 'Complete',
  error: 'Error',
};
