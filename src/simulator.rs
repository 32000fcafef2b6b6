//! The pipeline "war room": realistic runs published to the bus, so the
//! whole flow can be watched without the real microservices.
//!
//! Several runs go at once; each walks the six stages in order, every stage
//! going processing → complete after a plausible, random duration, and now
//! and then one stage fails with a reason and the run stops there. Each run
//! draws from its own generator seeded from `--seed` and its index, so a seed
//! gives the same runs whatever the timing of the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::bus::{Publish, PublishError};
use crate::event::{self, ValidEvent};
use crate::event::{Stage, StageEvent, Status};

/// How the simulation runs.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Runs to play; `None` plays forever.
    pub runs: Option<u64>,
    /// Runs in flight at once.
    pub concurrency: usize,
    /// Time acceleration: 2.0 plays twice as fast.
    pub speed: f64,
    /// Probability that a run fails at one of its stages.
    pub error_rate: f64,
    pub seed: u64,
}

/// What the simulation did.
#[derive(Debug, Default)]
pub struct Progress {
    pub runs_started: AtomicU64,
    pub runs_done: AtomicU64,
    pub runs_failed: AtomicU64,
    pub events: AtomicU64,
}

/// What a stage says while it works, when done, and when it fails, plus
/// how long it takes (ms, at speed 1).
struct StageScript {
    stage: Stage,
    working: &'static [&'static str],
    done: &'static [&'static str],
    failures: &'static [&'static str],
    duration_ms: (u64, u64),
}

const SCRIPTS: [StageScript; 6] = [
    StageScript {
        stage: Stage::Radar,
        working: &[
            "Scanning 12 lead sources",
            "Crawling partner directories",
            "Polling inbound forms",
        ],
        done: &[
            "Found 48 new leads",
            "Found 17 new leads",
            "Found 93 new leads",
        ],
        failures: &[
            "Source feed timed out after 30 s",
            "CRM export returned HTTP 502",
        ],
        duration_ms: (800, 2500),
    },
    StageScript {
        stage: Stage::Analyst,
        working: &[
            "Scoring leads with model v7",
            "Enriching firmographics",
            "Deduplicating against CRM",
        ],
        done: &[
            "31 leads above threshold",
            "12 leads above threshold",
            "54 leads above threshold",
        ],
        failures: &[
            "Scoring model unavailable (HTTP 503)",
            "Enrichment quota exhausted",
        ],
        duration_ms: (1500, 4000),
    },
    StageScript {
        stage: Stage::Advisor,
        working: &[
            "Drafting outreach strategy",
            "Matching offers to segments",
            "Estimating budget per channel",
        ],
        done: &[
            "3 campaigns proposed",
            "2 campaigns proposed",
            "5 campaigns proposed",
        ],
        failures: &[
            "Budget constraint violated",
            "No offer matches segment 'enterprise'",
        ],
        duration_ms: (1000, 3000),
    },
    StageScript {
        stage: Stage::Actuator,
        working: &[
            "Launching campaigns",
            "Scheduling email sequences",
            "Publishing ad sets",
        ],
        done: &[
            "Campaigns live on 2 channels",
            "Sequences scheduled for 31 leads",
            "Ad sets approved",
        ],
        failures: &[
            "Ad platform rejected campaign: policy 4.2",
            "Email provider rate limit hit",
        ],
        duration_ms: (800, 2500),
    },
    StageScript {
        stage: Stage::Quality,
        working: &[
            "Checking compliance and tone",
            "Validating links and tracking",
            "Reviewing sample messages",
        ],
        done: &[
            "All checks passed",
            "2 warnings, no blockers",
            "All checks passed",
        ],
        failures: &[
            "Tone check failed on 2 messages",
            "Broken tracking link in template B",
        ],
        duration_ms: (500, 1500),
    },
    StageScript {
        stage: Stage::Report,
        working: &[
            "Compiling run report",
            "Rendering charts",
            "Summarising outcomes",
        ],
        done: &[
            "Report published",
            "Report sent to 4 stakeholders",
            "Report published",
        ],
        failures: &["Report storage quota exceeded", "Template rendering failed"],
        duration_ms: (300, 1000),
    },
];

/// Builds one `pipeline.stage` event, as a stage's service would publish it.
pub fn stage_event(run_id: &str, stage: Stage, status: Status, detail: &str) -> ValidEvent {
    let text = StageEvent::new(run_id, stage, status)
        .detail(detail)
        .source(stage.as_str())
        .to_json();
    event::parse_event(text.as_bytes(), usize::MAX).expect("the builder writes valid events")
}

/// Plays runs until the configured number is done or `shutdown` is
/// cancelled. The first publishing error stops the simulation.
pub async fn run(
    publisher: Arc<dyn Publish>,
    config: SimulatorConfig,
    progress: Arc<Progress>,
    shutdown: CancellationToken,
) -> Result<(), PublishError> {
    let tag = format!("{:04x}", config.seed & 0xffff);
    let mut in_flight = JoinSet::new();
    let mut next_index = 0u64;
    let mut stagger = StdRng::seed_from_u64(config.seed ^ 0x5eed);
    loop {
        let more = config.runs.is_none_or(|runs| next_index < runs);
        if more && in_flight.len() < config.concurrency.max(1) {
            let run_id = format!("run-{tag}-{:03}", next_index + 1);
            let rng = StdRng::seed_from_u64(
                config
                    .seed
                    .wrapping_add(next_index.wrapping_mul(0x9e37_79b9)),
            );
            in_flight.spawn(play_run(
                publisher.clone(),
                run_id,
                rng,
                config.clone(),
                progress.clone(),
                shutdown.clone(),
            ));
            next_index += 1;
            progress.runs_started.fetch_add(1, Relaxed);
            // Stagger starts so the runs do not move in lockstep.
            let pause = scaled(stagger.random_range(200..1200), config.speed);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            finished = in_flight.join_next() => match finished {
                None => break,
                Some(Ok(result)) => result?,
                Some(Err(join_error)) => panic!("simulated run panicked: {join_error}"),
            },
        }
    }
    in_flight.abort_all();
    Ok(())
}

async fn play_run(
    publisher: Arc<dyn Publish>,
    run_id: String,
    mut rng: StdRng,
    config: SimulatorConfig,
    progress: Arc<Progress>,
    shutdown: CancellationToken,
) -> Result<(), PublishError> {
    let failing_stage = rng
        .random_bool(config.error_rate.clamp(0.0, 1.0))
        .then(|| rng.random_range(0..SCRIPTS.len()));
    for (index, script) in SCRIPTS.iter().enumerate() {
        let working = pick(&mut rng, script.working);
        publisher
            .publish(&stage_event(
                &run_id,
                script.stage,
                Status::Processing,
                working,
            ))
            .await?;
        progress.events.fetch_add(1, Relaxed);
        let duration = scaled(
            rng.random_range(script.duration_ms.0..=script.duration_ms.1),
            config.speed,
        );
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(duration) => {}
        }
        if failing_stage == Some(index) {
            let reason = pick(&mut rng, script.failures);
            publisher
                .publish(&stage_event(&run_id, script.stage, Status::Error, reason))
                .await?;
            progress.events.fetch_add(1, Relaxed);
            progress.runs_failed.fetch_add(1, Relaxed);
            progress.runs_done.fetch_add(1, Relaxed);
            return Ok(());
        }
        let done = pick(&mut rng, script.done);
        publisher
            .publish(&stage_event(&run_id, script.stage, Status::Complete, done))
            .await?;
        progress.events.fetch_add(1, Relaxed);
    }
    progress.runs_done.fetch_add(1, Relaxed);
    Ok(())
}

fn pick<'a>(rng: &mut StdRng, options: &[&'a str]) -> &'a str {
    options[rng.random_range(0..options.len())]
}

fn scaled(ms: u64, speed: f64) -> Duration {
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    Duration::from_secs_f64(ms as f64 / 1000.0 / speed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_event;
    use crate::frames::BusKind;
    use crate::hub::{Hub, HubConfig};

    #[tokio::test(start_paused = true)]
    async fn runs_walk_the_stages_in_order_and_every_event_is_valid() {
        let hub = Arc::new(Hub::new(
            HubConfig::default(),
            BusKind::Memory,
            Arc::default(),
        ));
        let mut sub = hub.subscribe(&crate::auth::Principal::anonymous(), None);
        let progress = Arc::new(Progress::default());
        let config = SimulatorConfig {
            runs: Some(4),
            concurrency: 2,
            speed: 1.0,
            error_rate: 0.0,
            seed: 42,
        };
        run(
            Arc::new(crate::bus::memory::MemoryBus::new(hub.clone())),
            config,
            progress.clone(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(progress.runs_done.load(Relaxed), 4);
        assert_eq!(progress.events.load(Relaxed), 4 * 12);
        let mut per_run: std::collections::HashMap<String, Vec<(String, String)>> =
            Default::default();
        while let Ok(item) = sub.frames.try_recv() {
            let json: serde_json::Value = serde_json::from_str(item.frame.as_str()).unwrap();
            if json["type"] != "event" {
                continue;
            }
            let raw = json["event"].to_string();
            parse_event(raw.as_bytes(), 65536).expect("simulated event is valid");
            let p = &json["pipeline"];
            per_run
                .entry(p["run_id"].as_str().unwrap().to_owned())
                .or_default()
                .push((
                    p["stage"].as_str().unwrap().to_owned(),
                    p["status"].as_str().unwrap().to_owned(),
                ));
        }
        assert_eq!(per_run.len(), 4);
        for events in per_run.values() {
            let expected: Vec<(String, String)> = Stage::ALL
                .iter()
                .flat_map(|s| {
                    [
                        (s.to_string(), "processing".into()),
                        (s.to_string(), "complete".into()),
                    ]
                })
                .collect();
            assert_eq!(events, &expected);
        }
        for run_id in per_run.keys() {
            assert_eq!(
                hub.runs_called(&crate::auth::Principal::anonymous(), run_id, |_| true)[0].outcome,
                crate::pipeline::Outcome::Complete
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_rate_of_one_fails_every_run_with_a_reason() {
        let hub = Arc::new(Hub::new(
            HubConfig::default(),
            BusKind::Memory,
            Arc::default(),
        ));
        let progress = Arc::new(Progress::default());
        let config = SimulatorConfig {
            runs: Some(3),
            concurrency: 3,
            speed: 10.0,
            error_rate: 1.0,
            seed: 7,
        };
        run(
            Arc::new(crate::bus::memory::MemoryBus::new(hub.clone())),
            config,
            progress.clone(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(progress.runs_failed.load(Relaxed), 3);
        for i in 1..=3 {
            let run = hub.runs_called(
                &crate::auth::Principal::anonymous(),
                &format!("run-0007-{i:03}"),
                |_| true,
            )[0]
            .clone();
            assert_eq!(run.outcome, crate::pipeline::Outcome::Error);
            assert!(
                run.stages
                    .iter()
                    .any(|s| s.error.as_deref().is_some_and(|e| !e.is_empty()))
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_same_seed_plays_the_same_runs() {
        async fn play(seed: u64) -> Vec<String> {
            let hub = Arc::new(Hub::new(
                HubConfig::default(),
                BusKind::Memory,
                Arc::default(),
            ));
            let mut sub = hub.subscribe(&crate::auth::Principal::anonymous(), None);
            let config = SimulatorConfig {
                runs: Some(3),
                concurrency: 1,
                speed: 5.0,
                error_rate: 0.5,
                seed,
            };
            run(
                Arc::new(crate::bus::memory::MemoryBus::new(hub)),
                config,
                Arc::default(),
                CancellationToken::new(),
            )
            .await
            .unwrap();
            let mut details = Vec::new();
            while let Ok(item) = sub.frames.try_recv() {
                let json: serde_json::Value = serde_json::from_str(item.frame.as_str()).unwrap();
                if json["type"] == "event" {
                    details.push(format!(
                        "{} {}",
                        json["event"]["run_id"], json["event"]["detail"]
                    ));
                }
            }
            details
        }
        assert_eq!(play(11).await, play(11).await);
        assert_ne!(play(11).await, play(12).await);
    }
}
