//! The command line. This interface is a contract other tools drive: extend it, do not change it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use switchboard_desk::{Codec, SrtpPolicy};

#[derive(Parser)]
#[command(
    name = "switchboard-cli",
    version,
    about = "Switchboard's engine without a window. Prints one JSON object per event on stdout; reads commands on stdin (answer, hangup, dial URI, hold, resume, mute, unmute, dtmf DIGITS, transfer URI, consult URI, complete, conference, cancel, quit)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Register to the trunk and wait for calls.
    Agent(Account),
    /// Place one call and exit when it ends.
    Call {
        /// Whom to call: a SIP URI, or a user/number at the registrar.
        target: String,
        #[command(flatten)]
        account: Account,
    },
    /// Run the practice line: a simulated customer calls this agent over loopback SIP.
    Practice(Audio),
    /// Print the sound devices present (one JSON object: microphones and speakers, each with
    /// the id to pass to --microphone, --speaker or --ringer).
    Devices,
    /// Keep a secret in the OS keychain for the app (a CRM token named in the settings as
    /// `{ keychain = "NAME" }`): `set` reads it from standard input, `check` says whether it is
    /// there (never what it is), `delete` removes it.
    Secret {
        #[arg(value_enum)]
        action: SecretAction,
        name: String,
    },
    /// Set the desk up from a provisioning file: its [secrets] into the OS keychain, its
    /// [settings] into the settings file (the old one kept as .bak). Prints what was done,
    /// never a secret.
    Provision {
        /// The provisioning file (TOML with [settings] and [secrets]).
        file: PathBuf,
        /// The settings file to write (default: the app's, in the platform's config directory).
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Delete the provisioning file once it is applied (it holds secrets).
        #[arg(long)]
        remove: bool,
    },
    /// Write a diagnostics bundle for IT: a zip of the logs, the settings in effect (secrets
    /// shown only by where they come from), versions, sound devices and the last calls'
    /// quality, scanned for this desk's secrets. Prints where it is and what is inside.
    Diagnostics {
        /// Where to write it (default: beside the logs, named by the time).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Import customer records from CSV into the store the app pops them from. Columns by
    /// name: phone and name (required), account, tier, record_url, open_cases ("ID: title; ...").
    ImportCustomers {
        /// The CSV file (with a header row).
        file: PathBuf,
        /// The store (default: the app's, in the platform's data directory).
        #[arg(long, value_name = "FILE")]
        store: Option<PathBuf>,
        /// The country calling code of numbers written without one.
        #[arg(long, value_name = "CODE", default_value = "1")]
        country_code: String,
    },
}

#[derive(Args)]
pub struct Account {
    /// The trunk, as sip:HOST[:PORT][;transport=udp|tcp|tls] or sips:HOST[:PORT]; a host
    /// without a port is looked up by DNS SRV.
    #[arg(long)]
    pub registrar: String,
    /// Another trunk address, tried when the ones before it fail (repeatable, in order).
    #[arg(long, value_name = "URI")]
    pub alternate: Vec<String>,
    /// Our address-of-record's domain, when it is not the registrar's host.
    #[arg(long)]
    pub domain: Option<String>,
    /// PEM file of the certificate authorities a TLS trunk must chain to (default: the
    /// system's store).
    #[arg(long, value_name = "FILE.pem")]
    pub tls_roots: Option<PathBuf>,
    /// A name server to locate the trunk with, IP or IP:PORT (repeatable; default: the
    /// system's).
    #[arg(long, value_name = "IP[:PORT]", value_parser = switchboard_desk::settings::parse_dns_server)]
    pub dns: Vec<std::net::SocketAddr>,
    #[arg(long)]
    pub user: String,
    /// Name of the environment variable holding the password (never the password itself).
    #[arg(long, value_name = "VAR", conflicts_with = "password_keychain")]
    pub password_env: Option<String>,
    /// The password's name in the OS keychain (stored with `secret set NAME`).
    #[arg(long, value_name = "NAME")]
    pub password_keychain: Option<String>,
    /// The transport for every trunk URI that names none (default: UDP, or as DNS says).
    #[arg(long, value_enum)]
    pub transport: Option<TransportArg>,
    /// Local address to bind for SIP (default: the interface facing the registrar, any port).
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Seconds between keepalives to the trunk while registered; a trunk that stops
    /// answering them is probed until it is back, then registered to again.
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    pub keepalive: u64,
    /// Encrypt calls: off, offer (SRTP whenever the other end takes it) or required (refuse
    /// or hang up a call that will not be encrypted).
    #[arg(long, value_name = "POLICY", default_value = "offer", value_parser = SrtpPolicy::parse)]
    pub srtp: SrtpPolicy,
    /// The codecs calls may use, in order of preference: opus, pcmu, pcma, comma-separated
    /// (default: all three; Opus is taken whenever it is allowed and offered).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = codec)]
    pub codecs: Vec<Codec>,
    #[command(flatten)]
    pub audio: Audio,
}

fn codec(name: &str) -> Result<Codec, String> {
    Codec::from_name(name).ok_or_else(|| format!("{name:?} is not opus, pcmu or pcma"))
}

#[derive(Args)]
pub struct Audio {
    /// Answer incoming calls at once.
    #[arg(long)]
    pub auto_answer: bool,
    /// Refuse a call that arrives during another with 486 Busy Here, instead of letting it ring.
    #[arg(long)]
    pub no_call_waiting: bool,
    /// After-call work (wrap-up) lasts this long before the agent is available again; 0, the
    /// default for a headless agent, is none.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub wrap_up: u64,
    /// A wrap-up ends only once `disposed` is sent.
    #[arg(long)]
    pub disposition_required: bool,
    /// Keep call history and customer records in this SQLite file (default: in memory).
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// Send this WAV file instead of the microphone (repeated).
    #[arg(long, value_name = "FILE.wav")]
    pub play: Option<PathBuf>,
    /// Write what we receive to this WAV file (48 kHz mono) instead of the speaker.
    #[arg(long, value_name = "FILE.wav")]
    pub record: Option<PathBuf>,
    /// The microphone, by the id `devices` prints (default: the system's).
    #[arg(long, value_name = "ID")]
    pub microphone: Option<String>,
    /// The speaker or headset calls play on, by id (default: the system's).
    #[arg(long, value_name = "ID")]
    pub speaker: Option<String>,
    /// Send the microphone without echo cancellation.
    #[arg(long)]
    pub no_echo_cancellation: bool,
    /// Send the microphone without noise suppression.
    #[arg(long)]
    pub no_noise_suppression: bool,
    /// Send the microphone without automatic gain control.
    #[arg(long)]
    pub no_gain_control: bool,
    /// Ring incoming calls on this output device, by id or "default" (without it, calls are
    /// announced on stdout only).
    #[arg(long, value_name = "ID")]
    pub ringer: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SecretAction {
    Set,
    Check,
    Delete,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TransportArg {
    Udp,
    Tcp,
    Tls,
}
