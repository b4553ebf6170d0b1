//! `switchboard-cli`: the engine without a window.

mod args;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use switchboard_desk::snapshot::CallPhase;
use switchboard_desk::{
    AccountConfig, AudioInput, AudioOutput, AvailabilityConfig, CallId, DeviceChoice, Engine,
    EngineConfig, EngineEvent, Password, RecordsConfig, Ringing, Snapshot, SrtpPolicy, StateChoice,
    Transport, VoiceConfig,
};
use tokio::io::{AsyncBufReadExt, BufReader};

use args::{Account, Audio, Cli, Command, SecretAction, TransportArg};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // stdout carries the JSON events; logs go to stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(format!("warn,{}", switchboard_desk::QUIET_LOGS))
            }),
        )
        .init();
    let cli = Cli::parse();
    let (config, dial) = match cli.command {
        Command::Devices => {
            let list = switchboard_desk::audio_devices();
            println!("{}", serde_json::to_string(&list)?);
            return Ok(());
        }
        Command::Secret { action, name } => return secret(action, &name),
        Command::Provision {
            file,
            settings,
            remove,
        } => return provision(&file, settings, remove),
        Command::Diagnostics { out } => return diagnostics(out),
        Command::ImportCustomers {
            file,
            store,
            country_code,
        } => return import_customers(&file, store, &country_code),
        Command::Agent(account) => (engine_config(&account)?, None),
        Command::Call { target, account } => (engine_config(&account)?, Some(target)),
        Command::Practice(audio) => {
            let mut account = AccountConfig::new("agent");
            account.display_name = Some("Practice agent".into());
            (
                EngineConfig {
                    account,
                    input: input(&audio),
                    output: output(&audio),
                    auto_answer: audio.auto_answer,
                    call_waiting: !audio.no_call_waiting,
                    practice: true,
                    srtp: SrtpPolicy::default(),
                    codecs: Vec::new(),
                    devices: devices(&audio),
                    ringing: ring_policy(&audio),
                    voice: voice(&audio),
                    availability: availability(&audio),
                    records: records(&audio),
                    directory: Vec::new(),
                    language: None,
                },
                None,
            )
        }
    };
    run(config, dial).await
}

/// The bundle of this desk (the app's settings, logs and history), reported as JSON.
fn diagnostics(out: Option<PathBuf>) -> anyhow::Result<()> {
    let mut effective = switchboard_desk::policy::of_this_desk();
    for problem in &effective.problems {
        tracing::warn!("{problem}");
    }
    effective.try_in_use();
    let version = (
        "switchboard-cli".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    );
    let report = switchboard_desk::diagnostics::of_this_desk(&effective, vec![version], out)?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

fn engine_config(account: &Account) -> anyhow::Result<EngineConfig> {
    let mut trunk = switchboard_desk::settings::trunk_uris(&account.registrar, &account.alternate)
        .map_err(anyhow::Error::msg)?;
    if let Some(transport) = account.transport {
        let transport = match transport {
            TransportArg::Udp => Transport::Udp,
            TransportArg::Tcp => Transport::Tcp,
            TransportArg::Tls => Transport::Tls,
        };
        for uri in trunk.iter_mut().filter(|u| u.transport.is_none()) {
            uri.transport = Some(transport);
        }
    }
    let password = match (&account.password_keychain, &account.password_env) {
        (Some(name), _) => switchboard_desk::keychain::read(name)
            .with_context(|| format!("--password-keychain {name}"))?,
        (None, Some(var)) => std::env::var(var).with_context(|| {
            format!("environment variable {var} (from --password-env) is not set")
        })?,
        (None, None) => String::new(),
    };
    let mut config = AccountConfig::new(account.user.clone());
    config.trunk = trunk;
    config.domain = account.domain.clone();
    config.tls_roots = account.tls_roots.clone();
    config.dns_servers = account.dns.clone();
    config.password = Password::new(password);
    config.keepalive = std::time::Duration::from_secs(account.keepalive.max(1));
    if let Some(bind) = account.bind {
        config.bind = bind;
    } else {
        config.bind = std::net::SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 0);
    }
    Ok(EngineConfig {
        account: config,
        input: input(&account.audio),
        output: output(&account.audio),
        auto_answer: account.audio.auto_answer,
        call_waiting: !account.audio.no_call_waiting,
        practice: false,
        srtp: account.srtp,
        codecs: account.codecs.clone(),
        devices: devices(&account.audio),
        ringing: ring_policy(&account.audio),
        voice: voice(&account.audio),
        availability: availability(&account.audio),
        records: records(&account.audio),
        directory: Vec::new(),
        language: None,
    })
}

fn records(audio: &Audio) -> RecordsConfig {
    RecordsConfig {
        store: audio.store.clone(),
        ..RecordsConfig::default()
    }
}

/// The OS keychain's entry `name`: set from the first line of standard input, checked, or
/// deleted. A secret never goes to standard output.
fn provision(file: &Path, settings: Option<PathBuf>, remove: bool) -> anyhow::Result<()> {
    let target = settings
        .or_else(switchboard_desk::Settings::default_path)
        .context("no config directory: pass --settings")?;
    let done = switchboard_desk::provision::apply_file(file, &target, remove)
        .map_err(anyhow::Error::msg)?;
    println!("{}", serde_json::to_string(&done)?);
    Ok(())
}

fn secret(action: SecretAction, name: &str) -> anyhow::Result<()> {
    use switchboard_desk::keychain;
    match action {
        SecretAction::Set => {
            let mut value = String::new();
            std::io::stdin().read_line(&mut value)?;
            let value = value.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(!value.is_empty(), "no secret on standard input");
            keychain::store(name, value)?;
            println!("{}", serde_json::json!({"secret": name, "stored": true}));
        }
        SecretAction::Check => {
            let present = match keychain::read(name) {
                Ok(_) => true,
                Err(keychain::KeychainError::Missing(_)) => false,
                Err(e) => return Err(e.into()),
            };
            println!(
                "{}",
                serde_json::json!({"secret": name, "present": present})
            );
            if !present {
                std::process::exit(3);
            }
        }
        SecretAction::Delete => {
            keychain::delete(name)?;
            println!("{}", serde_json::json!({"secret": name, "deleted": true}));
        }
    }
    Ok(())
}

/// Imports a CSV of customers and prints what was stored and what was refused, by line.
fn import_customers(
    file: &std::path::Path,
    store: Option<std::path::PathBuf>,
    country_code: &str,
) -> anyhow::Result<()> {
    let settings = switchboard_desk::settings::CustomerSettings {
        country_code: country_code.to_owned(),
        crm: None,
    };
    let plan = settings
        .records(None)
        .map_err(anyhow::Error::msg)?
        .number_plan;
    let path = store
        .or_else(switchboard_desk::store::Store::default_path)
        .context("no data directory: pass --store")?;
    let mut store = switchboard_desk::store::Store::open(&path)?;
    let csv = std::fs::File::open(file).with_context(|| file.display().to_string())?;
    let report = store.import_customers(csv, &plan)?;
    for (line, reason) in &report.rejected {
        eprintln!("{}:{line}: {reason}", file.display());
    }
    println!(
        "{}",
        serde_json::json!({"imported": report.imported, "rejected": report.rejected.len(), "store": path})
    );
    Ok(())
}

fn devices(audio: &Audio) -> DeviceChoice {
    DeviceChoice {
        microphone: audio.microphone.clone(),
        speaker: audio.speaker.clone(),
        ringer: audio.ringer.clone().filter(|r| r != "default"),
    }
}

fn voice(audio: &Audio) -> VoiceConfig {
    VoiceConfig {
        echo_cancellation: !audio.no_echo_cancellation,
        noise_suppression: !audio.no_noise_suppression,
        gain_control: !audio.no_gain_control,
    }
}

/// Headless agents ring only when asked to, on a device named with --ringer.
/// A headless agent starts available; wrap-up as the flags say.
fn availability(audio: &Audio) -> AvailabilityConfig {
    let mut config = AvailabilityConfig::default();
    config.wrap_up.duration = Some(Duration::from_secs(audio.wrap_up));
    config.wrap_up.disposition_required = audio.disposition_required;
    config
}

fn ring_policy(audio: &Audio) -> Ringing {
    if audio.ringer.is_some() {
        Ringing::On
    } else {
        Ringing::Silent
    }
}

fn input(audio: &Audio) -> AudioInput {
    match &audio.play {
        Some(path) => AudioInput::File {
            path: path.clone(),
            looping: true,
        },
        None => AudioInput::Device(audio.microphone.clone()),
    }
}

fn output(audio: &Audio) -> AudioOutput {
    match &audio.record {
        Some(path) => AudioOutput::File(path.clone()),
        None => AudioOutput::Device(audio.speaker.clone()),
    }
}

async fn run(config: EngineConfig, dial: Option<String>) -> anyhow::Result<()> {
    let (engine, mut events) = Engine::start(config).await?;
    let one_call = dial.is_some();
    if let Some(target) = dial {
        engine.dial(target)?;
    }
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                print_event(&event)?;
                if one_call && matches!(event, EngineEvent::Ended { .. }) {
                    break;
                }
            }
            line = stdin.next_line(), if stdin_open => match line {
                Ok(Some(line)) => {
                    if !command(&engine, line.trim()) {
                        break;
                    }
                }
                // End of input: keep running (an agent may run with stdin closed).
                Ok(None) | Err(_) => stdin_open = false,
            },
            _ = shutdown_signal() => break,
        }
    }
    engine.shutdown().await;
    // Report what the shutdown ended.
    while let Ok(event) = events.try_recv() {
        print_event(&event)?;
    }
    Ok(())
}

fn print_event(event: &EngineEvent) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, event)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// Runs one stdin command; false means quit. Commands act on the agent's current call (the
/// connected one not on hold; for `resume`, the held one), or on the call id given last.
fn command(engine: &Engine, line: &str) -> bool {
    let mut words = line.split_whitespace();
    let verb = words.next().unwrap_or_default();
    let args: Vec<&str> = words.collect();
    let snapshot = engine.snapshot();
    let result = match verb {
        "" => Ok(()),
        "quit" | "exit" => return false,
        "answer" => with_call(&args, 0, ringing(&snapshot), "no ringing call to answer")
            .and_then(|call| engine.answer(call)),
        "hangup" => with_call(
            &args,
            0,
            snapshot.calls.first().map(|c| c.id.clone()),
            "no call to hang up",
        )
        .and_then(|call| engine.hangup(call)),
        "dial" => match args.first() {
            Some(target) => engine.dial((*target).to_owned()),
            None => Err(anyhow_msg("usage: dial URI")),
        },
        "hold" => with_call(
            &args,
            0,
            active(&snapshot, false).or_else(|| connected(&snapshot)),
            "no call to hold",
        )
        .and_then(|call| engine.hold(call)),
        "resume" => with_call(
            &args,
            0,
            active(&snapshot, true).or_else(|| connected(&snapshot)),
            "no call to resume",
        )
        .and_then(|call| engine.resume(call)),
        "mute" | "unmute" => with_call(&args, 0, connected(&snapshot), "no call to mute")
            .and_then(|call| engine.mute(call, verb == "mute")),
        "dtmf" => match args.first() {
            Some(keys) => with_call(&args, 1, active(&snapshot, false), "no active call")
                .and_then(|call| engine.dtmf(call, (*keys).to_owned())),
            None => Err(anyhow_msg("usage: dtmf DIGITS")),
        },
        "transfer" => match args.first() {
            Some(target) => with_call(&args, 1, connected(&snapshot), "no call to transfer")
                .and_then(|call| engine.transfer(call, (*target).to_owned())),
            None => Err(anyhow_msg("usage: transfer URI")),
        },
        "consult" => match args.first() {
            Some(target) => with_call(&args, 1, active(&snapshot, false), "no call to consult for")
                .and_then(|call| engine.consult(call, (*target).to_owned())),
            None => Err(anyhow_msg("usage: consult URI")),
        },
        "state" => state_choice(&args).and_then(|choice| engine.choose_state(choice)),
        "disposed" => engine.disposed(),
        "complete" => engine.complete_transfer(),
        "conference" => engine.conference(),
        "cancel" => cancel(engine, &snapshot),
        other => Err(anyhow_msg(&format!(
            "unknown command {other:?} (answer, hangup, dial URI, hold, resume, dtmf DIGITS, \
             transfer URI, consult URI, complete, conference, cancel, state available|offline|\
             not-ready REASON, disposed, mute, unmute, quit)"
        ))),
    };
    if let Err(e) = result {
        let _ = print_event(&EngineEvent::Error {
            message: e.to_string(),
        });
    }
    true
}

/// `state available`, `state offline`, `state not-ready Lunch break`.
fn state_choice(args: &[&str]) -> Result<StateChoice, switchboard_desk::DeskError> {
    match args.split_first() {
        Some((&"available", [])) => Ok(StateChoice::Available),
        Some((&"offline", [])) => Ok(StateChoice::Offline),
        Some((&"not-ready", reason)) if !reason.is_empty() => Ok(StateChoice::NotReady {
            reason: reason.join(" "),
        }),
        _ => Err(anyhow_msg(
            "usage: state available|offline|not-ready REASON",
        )),
    }
}

/// Cancels the consultation, else the call we are placing.
fn cancel(engine: &Engine, snapshot: &Snapshot) -> Result<(), switchboard_desk::DeskError> {
    if snapshot.calls.iter().any(|c| c.consult_for.is_some()) {
        return engine.cancel_consult();
    }
    match snapshot
        .calls
        .iter()
        .find(|c| c.phase == CallPhase::Dialing)
    {
        Some(call) => engine.hangup(call.id.clone()),
        None => Err(anyhow_msg("nothing to cancel")),
    }
}

/// The call named at `args[at]`, else the default one.
fn with_call(
    args: &[&str],
    at: usize,
    default: Option<CallId>,
    none: &str,
) -> Result<CallId, switchboard_desk::DeskError> {
    args.get(at)
        .map(|id| CallId((*id).to_owned()))
        .or(default)
        .ok_or_else(|| anyhow_msg(none))
}

fn ringing(snapshot: &Snapshot) -> Option<CallId> {
    snapshot
        .calls
        .iter()
        .find(|c| c.phase == CallPhase::Ringing)
        .map(|c| c.id.clone())
}

/// The connected call that is (or is not) on hold.
fn active(snapshot: &Snapshot, held: bool) -> Option<CallId> {
    snapshot
        .calls
        .iter()
        .find(|c| c.phase == CallPhase::Connected && c.held == held)
        .map(|c| c.id.clone())
}

fn connected(snapshot: &Snapshot) -> Option<CallId> {
    snapshot
        .calls
        .iter()
        .find(|c| c.phase == CallPhase::Connected)
        .map(|c| c.id.clone())
}

fn anyhow_msg(message: &str) -> switchboard_desk::DeskError {
    switchboard_desk::DeskError::Command(message.to_owned())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
