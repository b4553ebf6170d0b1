//! What the Microsoft 365 tests share: the stand-in with its own certificate authority, a
//! session on it with a vault that keeps what it is given in memory, and the system browser
//! (curl, following the sign-in page's redirect).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_teams::identity::Identity;
use switchboard_teams::{Client, Cloud, Saved, Session, SignInError, Vault};
use switchboard_testkit::microsoft::MicrosoftCloud;
use switchboard_testkit::tls::TestCa;

pub const TENANT: &str = "contoso.onmicrosoft.com";
pub const CLIENT: &str = "5e3ce6c0-2b1f-4285-8d4b-75ee78787346";

#[derive(Default)]
pub struct MemoryVault(Mutex<Option<Saved>>);

impl Vault for MemoryVault {
    fn load(&self) -> Result<Option<Saved>, String> {
        Ok(self.0.lock().map_err(|e| e.to_string())?.clone())
    }
    fn save(&self, saved: &Saved) -> Result<(), String> {
        *self.0.lock().map_err(|e| e.to_string())? = Some(saved.clone());
        Ok(())
    }
    fn clear(&self) -> Result<(), String> {
        *self.0.lock().map_err(|e| e.to_string())? = None;
        Ok(())
    }
}

impl MemoryVault {
    pub fn kept(&self) -> Option<Saved> {
        self.0.lock().ok().and_then(|s| s.clone())
    }
}

pub struct Lab {
    pub cloud: MicrosoftCloud,
    pub ca: PathBuf,
    _dir: PathBuf,
}

pub fn lab(name: &str) -> Lab {
    let dir = switchboard_testkit::output::dir(name);
    let ca = TestCa::create(&dir.join("ca"), "Graph test CA");
    let files = ca.issue("cloud", &["IP:127.0.0.1"]);
    let cloud = MicrosoftCloud::start(&files, TENANT, CLIENT);
    Lab {
        cloud,
        ca: ca.certificate,
        _dir: dir,
    }
}

pub fn new_session(lab: &Lab, vault: Arc<MemoryVault>) -> Session {
    let cloud = Cloud::new(
        &lab.cloud.login_base(),
        &lab.cloud.graph_base(),
        Some(lab.ca.clone()),
    )
    .expect("the stand-in's bases");
    let client = Client::new(cloud, TENANT, CLIENT).expect("tenant and client");
    Session::new(Identity::new(client).expect("an HTTPS client"), vault)
}

/// The system browser: follows the sign-in page's redirect to wherever it points.
pub fn browser(ca: &Path, url: &str) -> std::process::Child {
    switchboard_testkit::require("curl", "curl");
    Command::new("curl")
        .args(["-sS", "-L", "--max-redirs", "2", "--cacert"])
        .arg(ca)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start curl")
}

/// A sign-in through the browser, the browser's page read once it is done.
pub async fn sign_in_by_browser(lab: &Lab, session: &Session) -> Result<(), SignInError> {
    let mut opened = None;
    let result = session
        .sign_in_with_browser(
            |url| {
                opened = Some(browser(&lab.ca, url));
                Ok(())
            },
            Duration::from_secs(30),
            None,
        )
        .await;
    let _ = page(opened.expect("the browser was opened"));
    result
}

pub fn page(child: std::process::Child) -> String {
    let out = child.wait_with_output().expect("curl ends");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
