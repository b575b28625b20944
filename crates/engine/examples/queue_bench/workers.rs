//! Worker loops in this process or in child processes sharing one store.

use super::*;

/// `--worker`: reads a [`WorkerSpec`] line, says `ready`, runs workers from `start` until `stop`
/// (or stdin closing, or its lifetime ending), then prints its execution counts as one JSON line.
pub(crate) async fn worker_main() -> ExitCode {
    match worker_run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("queue_bench worker {}: {e}", std::process::id());
            ExitCode::FAILURE
        }
    }
}

pub(crate) async fn worker_run() -> Res<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            match line {
                Ok(l) if tx.send(l.trim().to_string()).is_ok() => {}
                _ => break,
            }
        }
    });
    let first = rx.recv().await.ok_or("stdin closed before the spec")?;
    let spec: WorkerSpec = serde_json::from_str(&first).map_err(|e| format!("spec: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(spec.max_secs);
    let store = store::open(&spec.db_url)
        .await
        .map_err(|e| format!("open store: {e}"))?;
    let (engine, executions) = build_engine(&spec, store.clone())?;
    println!("ready");
    let started = loop {
        tokio::select! {
            line = rx.recv() => match line.as_deref() {
                Some("start") => break true,
                Some(_) => continue,
                None => break false,
            },
            _ = tokio::time::sleep_until(deadline) => break false,
        }
    };
    if started {
        let workers = LocalWorkers::start(&engine);
        tokio::select! {
            _ = async { while let Some(l) = rx.recv().await { if l == "stop" { break; } } } => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
        workers.stop().await;
    }
    println!("{}", json!({ "executions": executions.snapshot() }));
    store.close().await;
    Ok(())
}

pub(crate) struct Child {
    pub(crate) process: tokio::process::Child,
    pub(crate) stdin: ChildStdin,
    pub(crate) stdout: Lines<BufReader<ChildStdout>>,
}

impl Child {
    pub(crate) async fn send(&mut self, line: &str) -> Res<()> {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| format!("writing to a worker process: {e}"))?;
        self.stdin
            .flush()
            .await
            .map_err(|e| format!("writing to a worker process: {e}"))
    }

    pub(crate) async fn line(&mut self, within: Duration) -> Res<String> {
        match tokio::time::timeout(within, self.stdout.next_line()).await {
            Ok(Ok(Some(l))) => Ok(l),
            Ok(Ok(None)) => Err("a worker process exited early (see its error above)".into()),
            Ok(Err(e)) => Err(format!("reading a worker process: {e}")),
            Err(_) => Err(format!("a worker process did not answer within {within:?}")),
        }
    }
}

/// Where the jobs run: this process's engine, or child processes.
pub(crate) enum Workers {
    Local {
        engine: Arc<Engine>,
        executions: Arc<Executions>,
        running: Option<LocalWorkers>,
    },
    Children(Vec<Child>),
}

impl Workers {
    pub(crate) async fn prepare(
        processes: usize,
        spec: &WorkerSpec,
        engine: &Arc<Engine>,
        executions: &Arc<Executions>,
    ) -> Res<Self> {
        if processes <= 1 {
            return Ok(Self::Local {
                engine: engine.clone(),
                executions: executions.clone(),
                running: None,
            });
        }
        let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
        let line = serde_json::to_string(spec).map_err(|e| e.to_string())?;
        let mut children = Vec::with_capacity(processes);
        for _ in 0..processes {
            let mut process = tokio::process::Command::new(&exe)
                .arg("--worker")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("starting a worker process: {e}"))?;
            let stdin = process.stdin.take().ok_or("worker stdin")?;
            let stdout = process.stdout.take().ok_or("worker stdout")?;
            let mut child = Child {
                process,
                stdin,
                stdout: BufReader::new(stdout).lines(),
            };
            child.send(&line).await?;
            children.push(child);
        }
        for c in &mut children {
            let l = c.line(CHILD_READY).await?;
            if l != "ready" {
                return Err(format!("a worker process said `{l}` instead of `ready`"));
            }
        }
        Ok(Self::Children(children))
    }

    pub(crate) async fn start(&mut self) -> Res<()> {
        match self {
            Self::Local {
                engine, running, ..
            } => {
                *running = Some(LocalWorkers::start(engine));
                Ok(())
            }
            Self::Children(list) => {
                for c in list {
                    c.send("start").await?;
                }
                Ok(())
            }
        }
    }

    /// Stops every worker and returns the runs per job of all processes.
    pub(crate) async fn finish(self) -> Res<HashMap<i64, u32>> {
        let mut all: HashMap<i64, u32> = HashMap::new();
        match self {
            Self::Local {
                executions,
                running,
                ..
            } => {
                if let Some(w) = running {
                    w.stop().await;
                }
                for (job, n) in executions.snapshot() {
                    *all.entry(job).or_default() += n;
                }
            }
            Self::Children(mut list) => {
                for c in &mut list {
                    c.send("stop").await?;
                }
                for mut c in list {
                    let l = c.line(CHILD_STOP).await?;
                    #[derive(Deserialize)]
                    struct Report {
                        executions: Vec<(i64, u32)>,
                    }
                    let r: Report = serde_json::from_str(&l)
                        .map_err(|e| format!("a worker process's report `{l}`: {e}"))?;
                    for (job, n) in r.executions {
                        *all.entry(job).or_default() += n;
                    }
                    drop(c.stdin);
                    match tokio::time::timeout(CHILD_STOP, c.process.wait()).await {
                        Ok(Ok(s)) if s.success() => {}
                        Ok(Ok(s)) => return Err(format!("a worker process ended with {s}")),
                        _ => {
                            let _ = c.process.kill().await;
                            return Err("a worker process did not exit; killed".into());
                        }
                    }
                }
            }
        }
        Ok(all)
    }
}
