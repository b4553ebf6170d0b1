//! IPC commands, one file per screen area. Each is a few lines: take the arguments, call the
//! engine, map the error.

mod call;
mod desk;
mod devices;
pub mod settings;
pub mod teams;

pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static
{
    tauri::generate_handler![
        call::snapshot,
        call::answer_call,
        call::hangup_call,
        call::hold_call,
        call::resume_call,
        call::dial,
        call::send_dtmf,
        call::mute_call,
        call::transfer_call,
        call::consult,
        call::complete_transfer,
        call::conference,
        call::cancel_consult,
        desk::choose_state,
        desk::set_notes,
        desk::set_disposition,
        desk::history,
        desk::open_record,
        devices::choose_devices,
        settings::create_diagnostics,
        settings::provision_prompt,
        settings::accept_provision,
        settings::decline_provision,
        settings::update_status,
        settings::check_update,
        settings::install_update,
        teams::teams_sign_in,
        teams::teams_cancel_sign_in,
        teams::teams_sign_out,
        teams::search_experts,
        teams::escalate
    ]
}
