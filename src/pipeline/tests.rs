//! The fold's rules, one test each, and the property that matters most:
//! any order of the same events ends in the same state.

use super::*;
use crate::event::PipelineUpdate;

const T0: i64 = 1_795_878_000_000;

/// An event of run `r` at `t` (ms after T0), with id `n`.
fn ev(stage: Stage, status: Status, t: i64, n: u64) -> (PipelineUpdate, EventId, i64) {
    let update = PipelineUpdate {
        run_id: "r".into(),
        stage,
        status,
        detail: None,
        attempt: None,
        seq: None,
        progress: None,
        eta_s: None,
    };
    (update, id(n), T0 + t)
}

fn with(
    mut event: (PipelineUpdate, EventId, i64),
    edit: impl FnOnce(&mut PipelineUpdate),
) -> (PipelineUpdate, EventId, i64) {
    edit(&mut event.0);
    event
}

/// The `n`-th id, recorded now (retention goes by when a run's newest
/// event was recorded).
fn id(n: u64) -> EventId {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    EventId {
        ms: *BASE.get_or_init(clock::now_ms) + n as i64,
        seq: 0,
    }
}

fn store() -> RunStore {
    RunStore::new(Retention::default(), Deadlines::default())
}

fn fold(events: &[(PipelineUpdate, EventId, i64)]) -> RunStore {
    let mut store = store();
    for (update, id, t) in events {
        store.apply(&Scope::default(), update, *id, *t);
    }
    store
}

/// A run's state without its bookkeeping (seen_ms), for comparisons.
fn state(store: &RunStore) -> String {
    serde_json::to_string(store.get("r").unwrap()).unwrap()
}

#[test]
fn a_full_run_ends_complete_with_durations() {
    let mut events = Vec::new();
    for (n, stage) in Stage::ALL.into_iter().enumerate() {
        let t = n as i64 * 200;
        events.push(with(ev(stage, Status::Processing, t, 2 * n as u64), |u| {
            u.detail = Some("working".into())
        }));
        events.push(ev(stage, Status::Complete, t + 100, 2 * n as u64 + 1));
    }
    let store = fold(&events);
    let run = store.get("r").unwrap();
    assert_eq!(run.outcome, Outcome::Complete);
    assert_eq!(run.started_at, Some(T0));
    assert_eq!(run.ended_at, Some(T0 + 1100));
    let radar = run.stage(Stage::Radar);
    assert_eq!((radar.status, radar.attempt), (Status::Complete, 1));
    assert_eq!(radar.ended_at.unwrap() - radar.started_at.unwrap(), 100);
    assert_eq!(radar.detail.as_deref(), Some("working"));
    assert_eq!(run.version, id(11), "the newest event's id");
}

#[test]
fn a_late_processing_does_not_undo_a_complete_nor_move_time_back() {
    let mut store = fold(&[ev(Stage::Analyst, Status::Complete, 2000, 1)]);
    let late = ev(Stage::Analyst, Status::Processing, 1000, 2);
    let applied = store.apply(&Scope::default(), &late.0, late.1, late.2);
    assert_eq!(applied.added, Added::Stale);
    let run = store.get("r").unwrap();
    let analyst = run.stage(Stage::Analyst);
    assert_eq!(analyst.status, Status::Complete);
    assert_eq!(
        analyst.started_at,
        Some(T0 + 1000),
        "the late event fills in the start"
    );
    assert_eq!(
        run.updated_at,
        Some(T0 + 2000),
        "updated_at never goes back"
    );
    // An equal-time processing does not undo it either.
    let equal = ev(Stage::Analyst, Status::Processing, 2000, 3);
    store.apply(&Scope::default(), &equal.0, equal.1, equal.2);
    assert_eq!(
        store.get("r").unwrap().stage(Stage::Analyst).status,
        Status::Complete
    );
}

#[test]
fn a_newer_processing_after_an_end_is_a_retry() {
    let store = fold(&[
        ev(Stage::Radar, Status::Processing, 0, 1),
        with(ev(Stage::Radar, Status::Error, 100, 2), |u| {
            u.detail = Some("feed timed out".into())
        }),
        ev(Stage::Radar, Status::Processing, 200, 3),
    ]);
    let run = store.get("r").unwrap();
    let radar = run.stage(Stage::Radar);
    assert_eq!((radar.status, radar.attempt), (Status::Processing, 2));
    assert_eq!(radar.error, None);
    assert_eq!(radar.started_at, Some(T0 + 200));
    assert_eq!(run.outcome, Outcome::Running);
    assert_eq!(run.ended_at, None);
}

#[test]
fn an_explicit_attempt_orders_a_late_end_of_an_earlier_attempt_out() {
    let store = fold(&[
        with(ev(Stage::Advisor, Status::Processing, 0, 1), |u| {
            u.attempt = Some(1)
        }),
        with(ev(Stage::Advisor, Status::Processing, 300, 2), |u| {
            u.attempt = Some(2)
        }),
        // Attempt 1's error, with a ts after attempt 2 began (a slow
        // service), must not end attempt 2.
        with(ev(Stage::Advisor, Status::Error, 400, 3), |u| {
            u.attempt = Some(1)
        }),
    ]);
    let advisor = store.get("r").unwrap().stage(Stage::Advisor).clone();
    assert_eq!((advisor.status, advisor.attempt), (Status::Processing, 2));
    let jump = fold(&[with(ev(Stage::Advisor, Status::Complete, 0, 1), |u| {
        u.attempt = Some(3)
    })]);
    assert_eq!(jump.get("r").unwrap().stage(Stage::Advisor).attempt, 3);
}

#[test]
fn seq_orders_one_publisher_exactly_when_its_clock_steps_back() {
    // seq 1 complete at t=500, seq 2 processing (a retry) at t=400: the
    // clock stepped back, seq says the retry came second.
    let store = fold(&[
        with(ev(Stage::Quality, Status::Complete, 500, 1), |u| {
            u.seq = Some(1)
        }),
        with(ev(Stage::Quality, Status::Processing, 400, 2), |u| {
            u.seq = Some(2)
        }),
    ]);
    let quality = store.get("r").unwrap().stage(Stage::Quality).clone();
    assert_eq!((quality.status, quality.attempt), (Status::Processing, 2));
    // Without seq, time decides: the processing is older, not a retry.
    let by_time = fold(&[
        ev(Stage::Quality, Status::Complete, 500, 1),
        ev(Stage::Quality, Status::Processing, 400, 2),
    ]);
    assert_eq!(
        by_time.get("r").unwrap().stage(Stage::Quality).status,
        Status::Complete
    );
}

#[test]
fn progress_and_eta_update_the_attempt_and_end_with_it() {
    let store = fold(&[
        ev(Stage::Actuator, Status::Processing, 0, 1),
        with(ev(Stage::Actuator, Status::Processing, 100, 2), |u| {
            u.progress = Some(40.0);
            u.eta_s = Some(30.0);
            u.detail = Some("20 of 48".into());
        }),
    ]);
    let actuator = store.get("r").unwrap().stage(Stage::Actuator).clone();
    assert_eq!(actuator.progress, Some(40.0));
    assert_eq!(actuator.eta_at, Some(T0 + 100 + 30_000));
    assert_eq!(
        actuator.started_at,
        Some(T0),
        "progress does not restart the stage"
    );
    assert_eq!(actuator.attempt, 1);
    let done = fold(&[
        ev(Stage::Actuator, Status::Processing, 0, 1),
        with(ev(Stage::Actuator, Status::Processing, 100, 2), |u| {
            u.progress = Some(40.0)
        }),
        ev(Stage::Actuator, Status::Complete, 200, 3),
    ]);
    let actuator = done.get("r").unwrap().stage(Stage::Actuator).clone();
    assert_eq!((actuator.progress, actuator.eta_at), (None, None));
}

#[test]
fn the_same_event_twice_is_folded_once() {
    let event = ev(Stage::Radar, Status::Processing, 0, 1);
    let mut store = fold(std::slice::from_ref(&event));
    let again = store.apply(&Scope::default(), &event.0, event.1, event.2);
    assert_eq!(again.added, Added::Known);
    assert_eq!(store.get("r").unwrap().version, id(1));
}

/// Every order of `events`.
fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}

#[test]
fn every_order_of_the_same_events_ends_in_the_same_state() {
    // Retries, an error, progress, two stages, explicit attempts and seq:
    // six events with distinct ts, all 720 orders.
    let events = vec![
        ev(Stage::Radar, Status::Processing, 0, 1),
        with(ev(Stage::Radar, Status::Error, 100, 2), |u| {
            u.detail = Some("boom".into())
        }),
        with(ev(Stage::Radar, Status::Processing, 200, 3), |u| {
            u.progress = Some(10.0)
        }),
        ev(Stage::Radar, Status::Complete, 300, 4),
        with(ev(Stage::Analyst, Status::Processing, 350, 5), |u| {
            u.attempt = Some(1)
        }),
        with(ev(Stage::Analyst, Status::Processing, 360, 6), |u| {
            u.progress = Some(55.0);
            u.seq = Some(9);
        }),
    ];
    let expected = state(&fold(&events));
    for order in permutations(&events) {
        assert_eq!(
            state(&fold(&order)),
            expected,
            "{:?}",
            order.iter().map(|e| e.1).collect::<Vec<_>>()
        );
    }
    let run = fold(&events);
    let run = run.get("r").unwrap();
    assert_eq!(
        (
            run.stage(Stage::Radar).status,
            run.stage(Stage::Radar).attempt
        ),
        (Status::Complete, 2)
    );
    assert_eq!(run.stage(Stage::Analyst).progress, Some(55.0));
}

#[test]
fn a_stage_keeps_its_transitions_and_merges_old_progress_away() {
    let mut events = vec![ev(Stage::Report, Status::Processing, 0, 1)];
    for n in 0..200u64 {
        events.push(with(
            ev(Stage::Report, Status::Processing, 10 + n as i64, 2 + n),
            |u| {
                u.progress = Some((n % 100) as f32);
                if n == 5 {
                    u.detail = Some("halfway".into());
                }
            },
        ));
    }
    events.push(ev(Stage::Report, Status::Error, 10_000, 500));
    let store = fold(&events);
    let run = store.get("r").unwrap();
    assert!(run.steps(Stage::Report).len() <= stage::MAX_STEPS);
    let report = run.stage(Stage::Report);
    assert_eq!(report.status, Status::Error);
    assert_eq!(
        report.started_at,
        Some(T0),
        "the attempt's first processing is kept"
    );
    assert_eq!(
        report.detail.as_deref(),
        Some("halfway"),
        "a dropped step's detail carries forward"
    );
}

#[test]
fn a_processing_stage_past_its_deadline_is_stalled_until_it_moves() {
    let mut deadlines = Deadlines::default();
    deadlines.per_stage[Stage::Analyst.index()] = Some(10_000);
    let mut store = RunStore::new(Retention::default(), deadlines);
    let now = clock::now_ms();
    let start = ev(Stage::Analyst, Status::Processing, 0, 1);
    store.apply(&Scope::default(), &start.0, start.1, now - 5_000);
    assert!(store.refresh_stalls(now).is_empty());
    let changed = store.refresh_stalls(now + 6_000);
    assert_eq!(changed.len(), 1);
    assert!(store.get("r").unwrap().stage(Stage::Analyst).stalled);
    assert_eq!(store.stalled_stages(), 1);
    let done = ev(Stage::Analyst, Status::Complete, 0, 2);
    store.apply(&Scope::default(), &done.0, done.1, now + 6_500);
    assert!(
        !store.get("r").unwrap().stalled(),
        "cleared when the stage moves on"
    );
}

#[test]
fn retention_keeps_the_most_recent_runs() {
    let now = clock::now_ms();
    let mut store = RunStore::new(
        Retention {
            max_runs: 3,
            max_age_ms: 60_000,
        },
        Deadlines::default(),
    );
    for i in 0..5u64 {
        let (mut update, id, _) = ev(Stage::Radar, Status::Processing, 0, i);
        update.run_id = format!("r{i}");
        store.apply(&Scope::default(), &update, id, now + i as i64);
    }
    let ids: Vec<_> = store
        .newest_first()
        .iter()
        .map(|r| r.run_id.clone())
        .collect();
    assert_eq!(ids, ["r4", "r3", "r2"]);
    store.evict(now + 120_000);
    assert!(
        store.is_empty(),
        "runs not seen for longer than max age are dropped"
    );
}

#[test]
fn run_state_serialises_as_documented() {
    let store = fold(&[with(ev(Stage::Analyst, Status::Processing, 123, 1), |u| {
        u.detail = Some("x".into());
        u.progress = Some(5.0);
    })]);
    let json = serde_json::to_value(store.get("r").unwrap()).unwrap();
    assert_eq!(json["key"], "//r");
    assert_eq!(json["outcome"], "running");
    assert_eq!(json["version"], id(1).to_string());
    assert_eq!(json["stalled"], false);
    let analyst = &json["stages"]["analyst"];
    assert_eq!(analyst["status"], "processing");
    assert_eq!(analyst["started_at"], "2026-11-28T15:00:00.123Z");
    assert_eq!(analyst["attempt"], 1);
    assert_eq!(analyst["progress"], 5.0);
    assert_eq!(analyst["eta"], serde_json::Value::Null);
    assert_eq!(json["stages"]["radar"]["status"], "idle");
    assert_eq!(json["ended_at"], serde_json::Value::Null);
    let delta: serde_json::Value =
        serde_json::from_str(&store.get("r").unwrap().delta_json(Stage::Analyst, false)).unwrap();
    assert_eq!(delta["stage"], "analyst");
    assert_eq!(delta["state"]["detail"], "x");
    assert_eq!(delta["version"], id(1).to_string());
}
