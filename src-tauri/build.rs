// Commands are declared here so that tauri-build generates one permission per command; the
// window's capability (src-tauri/capabilities/main.json) then grants exactly what the UI calls.
fn main() {
    let commands = &[
        "snapshot",
        "answer_call",
        "hangup_call",
        "hold_call",
        "resume_call",
        "dial",
        "send_dtmf",
        "mute_call",
        "transfer_call",
        "consult",
        "complete_transfer",
        "conference",
        "cancel_consult",
        "choose_state",
        "set_notes",
        "set_disposition",
        "history",
        "open_record",
        "choose_devices",
        "create_diagnostics",
        "provision_prompt",
        "accept_provision",
        "decline_provision",
        "update_status",
        "check_update",
        "install_update",
        "teams_sign_in",
        "teams_cancel_sign_in",
        "teams_sign_out",
        "search_experts",
        "escalate",
    ];
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/*.json")
        .app_manifest(tauri_build::AppManifest::new().commands(commands));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {e:#}");
    }
}
