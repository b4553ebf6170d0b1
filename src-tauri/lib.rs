//! The desktop shell: a window over the engine. It starts the engine, forwards its snapshots and
//! events to the UI, and maps a handful of commands onto it. No telephony lives here.

mod alerts;
pub mod bindings;
mod commands;
mod error;
mod events;
mod hotkeys;
mod links;
mod provision_links;
mod startup;
mod updates;

use tauri::Manager;

pub fn run() -> anyhow::Result<()> {
    let effective = switchboard_desk::policy::of_this_desk();
    let args: Vec<String> = std::env::args().collect();
    // The command-line modes log to standard error only: installers run them as root or as
    // the system account, whose log file would be nobody's (or an agent's made root-owned).
    let command_line = ["--provision", "--write-policy", "--diagnostics"]
        .iter()
        .any(|mode| args.iter().any(|a| a == mode));
    startup::init_logging(&effective.settings.logging, !command_line);
    startup::report(&effective);
    // `switchboard --provision FILE [--remove]`: IT sets the desk up, and no window opens.
    if let Some(at) = args.iter().position(|a| a == "--provision") {
        let file = args
            .get(at + 1)
            .ok_or_else(|| anyhow::anyhow!("--provision needs a file"))?;
        return startup::provision(file.as_ref(), args.iter().any(|a| a == "--remove"));
    }
    // `switchboard --write-policy [--trunk URI] [--tenant T] [--client-id ID] [--lock]`: what
    // an installer runs with the properties IT passed it.
    if let Some(at) = args.iter().position(|a| a == "--write-policy") {
        return startup::write_policy(&args[at + 1..]);
    }
    // `switchboard --diagnostics [--out FILE]`: the bundle an agent or IT sends, without a window.
    if args.iter().any(|a| a == "--diagnostics") {
        let out = args.iter().position(|a| a == "--out").map(|at| {
            args.get(at + 1)
                .map(std::path::PathBuf::from)
                .ok_or_else(|| anyhow::anyhow!("--out needs a file"))
        });
        return startup::diagnostics(effective, out.transpose()?);
    }
    tauri::Builder::default()
        // First: a second launch must hand over its link and exit before it starts anything.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            links::raise(app)
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .invoke_handler(commands::handler())
        .setup(move |app| {
            app.manage(provision_links::PendingLink::default());
            app.manage(updates::Updates::new(&effective.settings.updates));
            let started = tauri::async_runtime::block_on(startup::start_engine(effective))?;
            app.manage(commands::settings::InEffect(started.effective.clone()));
            let alerts = alerts::Alerts::new(started.ui.language.as_deref());
            events::forward(
                app.handle().clone(),
                started.engine.clone(),
                started.events,
                alerts,
            );
            app.manage(started.engine);
            app.manage(started.teams);
            hotkeys::install(app.handle(), &started.ui.answer_key, &started.ui.hangup_key)?;
            links::follow(app.handle());
            updates::check_at_start(app.handle());
            Ok(())
        })
        .build(tauri::generate_context!())?
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                if let Some(engine) = app.try_state::<switchboard_desk::Engine>() {
                    tauri::async_runtime::block_on(engine.shutdown());
                }
            }
        });
    Ok(())
}
