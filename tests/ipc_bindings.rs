//! The UI's IPC types must be exactly what the Rust types generate: drift fails here.

use std::path::PathBuf;

#[test]
fn typescript_bindings_match_the_rust_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui/src/ipc/bindings.ts");
    let generated = switchboard_app::bindings::typescript();
    if std::env::var_os("SWITCHBOARD_WRITE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).expect("write bindings");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "ui/src/ipc/bindings.ts is stale: run SWITCHBOARD_WRITE_BINDINGS=1 cargo test --test ipc_bindings"
    );
    // The names the UI relies on are camelCase (serde and ts-rs agree).
    assert!(generated.contains("connectedAtMs"), "{generated}");
    assert!(
        generated.contains("\"event\": \"registration_failed\""),
        "{generated}"
    );
}
