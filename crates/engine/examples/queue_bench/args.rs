//! Command-line arguments of the queue benchmark.

use super::*;

pub(crate) fn parse_args(list: &[String]) -> Res<Args> {
    let mut a = Args {
        backends: vec![Backend::Sqlite, Backend::Postgres],
        processes: vec![1, 3],
        processes_given: false,
        events: 20_000,
        rate: 500,
        seconds: 10,
        e2e_events: 1_000,
        workers: 4,
        idle_ms: u64::try_from(EngineOptions::default().idle_wait.as_millis()).unwrap_or(50),
        claim_batch: EngineOptions::default().claim_batch,
        phases: PHASES.iter().map(|p| p.to_string()).collect(),
        database_url: std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string()),
        json: false,
    };
    fn num<T>(flag: &str, v: &str, min: T) -> Res<T>
    where
        T: FromStr + PartialOrd + std::fmt::Display,
    {
        match v.parse::<T>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(format!(
                "{flag} wants a number of at least {min}, not `{v}`"
            )),
        }
    }
    let mut it = list.iter();
    while let Some(flag) = it.next() {
        let flag = flag.as_str();
        if flag == "--json" {
            a.json = true;
            continue;
        }
        const WITH_VALUE: [&str; 11] = [
            "--backend",
            "--processes",
            "--events",
            "--rate",
            "--seconds",
            "--e2e-events",
            "--workers",
            "--idle-ms",
            "--claim-batch",
            "--phases",
            "--database-url",
        ];
        if !WITH_VALUE.contains(&flag) {
            return Err(format!("unknown argument `{flag}`\n{USAGE}"));
        }
        let v = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?
            .as_str();
        match flag {
            "--backend" => {
                a.backends = match v {
                    "sqlite" => vec![Backend::Sqlite],
                    "postgres" => vec![Backend::Postgres],
                    "both" => vec![Backend::Sqlite, Backend::Postgres],
                    _ => return Err(format!("--backend is sqlite, postgres or both\n{USAGE}")),
                }
            }
            "--processes" => {
                a.processes_given = v != "both";
                a.processes = match v {
                    "both" => vec![1, 3],
                    n => vec![num(flag, n, 1usize)?.min(16)],
                }
            }
            "--events" => a.events = num(flag, v, 8)?,
            "--rate" => a.rate = num(flag, v, 1)?,
            "--seconds" => a.seconds = num(flag, v, 1)?,
            "--e2e-events" => a.e2e_events = num(flag, v, 0)?,
            "--workers" => a.workers = num(flag, v, 1)?,
            "--idle-ms" => a.idle_ms = num(flag, v, 1)?,
            "--claim-batch" => a.claim_batch = num(flag, v, 1)?,
            "--phases" => {
                a.phases = v.split(',').map(|p| p.trim().to_string()).collect();
                if let Some(p) = a.phases.iter().find(|p| !PHASES.contains(&p.as_str())) {
                    return Err(format!(
                        "unknown phase `{p}`: {}\n{USAGE}",
                        PHASES.join(", ")
                    ));
                }
            }
            "--database-url" => a.database_url = v.to_string(),
            _ => return Err(format!("unknown argument `{flag}`\n{USAGE}")),
        }
    }
    Ok(a)
}
