//! Starting, describing and stopping the emulator: the files clients need (CA, identity
//! certificates, the workload identity token file, the fake CLIs), the listener, and the env
//! file written only once the emulator answers.

use super::envfile::{self, Layout};
use super::pki::Authority;
use super::server::{self, ServerState};
use super::{Scenario, World, cli, oidc};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct EmulatorOptions {
    /// 0 = any free port.
    pub port: u16,
    /// CA, env file, bin/, certs, token files go here.
    pub dir: PathBuf,
}

pub struct RunningEmulator {
    world: Arc<World>,
    port: u16,
    layout: Layout,
    ca_file: PathBuf,
    env: Vec<(String, String)>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The kubelet rewrites a projected token well before it expires; so does the emulator.
const WORKLOAD_TOKEN_REFRESH: Duration = Duration::from_secs(600);

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("tmp-entraprobe");
    std::fs::write(&tmp, contents)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path)
}

fn write_workload_token(world: &World, layout: &Layout) -> std::io::Result<()> {
    match oidc::workload_token(world) {
        Some(token) => write_private(&layout.workload_token_file(), &token),
        None => Ok(()),
    }
}

impl RunningEmulator {
    pub async fn start(
        scenario: Scenario,
        options: EmulatorOptions,
    ) -> anyhow::Result<RunningEmulator> {
        let world = Arc::new(World::new(scenario)?);
        let authority = Arc::new(Authority::generate()?);
        let listener = TcpListener::bind(("127.0.0.1", options.port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", options.port))?;
        let port = listener.local_addr()?.port();
        let layout = Layout {
            dir: options.dir.clone(),
        };
        std::fs::create_dir_all(&layout.dir)
            .with_context(|| format!("cannot create {}", layout.dir.display()))?;
        let ca_file = layout.ca_file();
        std::fs::write(&ca_file, authority.ca_pem())
            .with_context(|| format!("cannot write {}", ca_file.display()))?;
        for (name, cert) in world.certificates.iter() {
            write_private(&layout.certificate_file(name), &cert.pem_with_key)
                .context("cannot write an identity certificate")?;
        }
        write_workload_token(&world, &layout).context("cannot write the federated token file")?;
        cli::write_scripts(&layout.bin_dir(), port).context("cannot write the fake az/azd")?;
        let inherited_path = std::env::var("PATH").unwrap_or_default();
        let env = envfile::environment(&world, port, &layout, &inherited_path);

        let (stop, stopped) = watch::channel(false);
        let state = Arc::new(ServerState {
            world: world.clone(),
            authority,
            port,
        });
        let mut tasks = vec![tokio::spawn(server::serve(
            listener,
            state,
            stopped.clone(),
        ))];
        if world.scenario.machine.workload_identity().is_some() {
            let (world, layout, mut stopped) = (world.clone(), layout.clone(), stopped);
            tasks.push(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(WORKLOAD_TOKEN_REFRESH) => {
                            let _ = write_workload_token(&world, &layout);
                        }
                        _ = stopped.wait_for(|s| *s) => break,
                    }
                }
            }));
        }
        Ok(RunningEmulator {
            world,
            port,
            layout,
            ca_file,
            env,
            stop,
            tasks,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// What the env file holds.
    pub fn env(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The directory holding the CA, certificates, token file and fake CLIs.
    pub fn dir(&self) -> &Path {
        &self.layout.dir
    }

    pub fn write_env_file(&self, path: &Path) -> std::io::Result<()> {
        envfile::write(path, &self.env)
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// `entraprobe emulate --scenario FILE [--port N] [--env-file PATH]`: parse, start, write the
/// env file only once ready, print where things are on stderr, run until Ctrl-C/SIGTERM.
pub async fn run_foreground(
    scenario_path: &Path,
    port: u16,
    env_file: Option<&Path>,
) -> anyhow::Result<()> {
    // Both failures are bad input (exit code 2), hence UsageError.
    let text = crate::input::read_text(scenario_path, "scenario", crate::input::FILE_LIMIT)
        .map_err(crate::UsageError::new)?;
    let scenario = Scenario::parse(&text, &scenario_path.display().to_string())
        .map_err(|e| crate::UsageError::new(e.to_string()))?;
    // Every path the env file holds is absolute, and so is the hint printed below: a relative
    // `--env-file emu.env` must work when sourced from another folder, and `. emu.env` in `sh`
    // would search PATH instead of the current folder.
    let env_file = env_file
        .map(std::path::absolute)
        .transpose()
        .context("cannot resolve the --env-file path")?;
    let env_file = env_file.as_deref();
    // The CA and friends live beside the env file, in a folder named after it, so two
    // emulators with two env files never share a CA.
    let dir = match env_file {
        Some(file) => {
            let mut name = file.file_name().unwrap_or_default().to_os_string();
            name.push(".d");
            file.with_file_name(name)
        }
        None => std::env::temp_dir().join(format!("entraprobe-emulator-{}", std::process::id())),
    };
    let emulator = RunningEmulator::start(scenario, EmulatorOptions { port, dir }).await?;
    let env_path = env_file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| emulator.layout.default_env_file());
    emulator
        .write_env_file(&env_path)
        .with_context(|| format!("cannot write the env file {}", env_path.display()))?;
    eprintln!(
        "entraprobe emulator listening on 127.0.0.1:{} (HTTP proxy; TLS terminated with its own CA)",
        emulator.port()
    );
    eprintln!("  CA certificate: {}", emulator.ca_file().display());
    eprintln!("  fake az/azd:    {}", emulator.layout.bin_dir().display());
    eprintln!("  env file:       {}", env_path.display());
    eprintln!(
        "  use it:         set -a; . {}; set +a   (then run any client)",
        env_path.display()
    );
    eprintln!("Stop with Ctrl-C.");
    wait_for_stop_signal().await;
    eprintln!("entraprobe emulator: stopping");
    emulator.shutdown().await;
    Ok(())
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
