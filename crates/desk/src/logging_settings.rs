//! `[logging]`: how much the app writes to its log. IT raises it to `debug` on a desk while a
//! problem is chased, through the machine policy; `SWITCHBOARD_LOG` (a filter in tracing's
//! syntax) still wins, for a developer at the terminal.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSettings {
    pub level: LogLevel,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    /// The filter for the app's log: this level, with the SIP stack's own logging kept at
    /// warnings whatever the level, since it writes whole messages (SDES keys, digest
    /// answers, callers' names and numbers). Our own signalling logs say what happened
    /// without them; `SWITCHBOARD_LOG` can still ask a developer's terminal for everything.
    pub fn filter(self) -> String {
        format!("{},{}", self.as_str(), crate::QUIET_LOGS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_is_one_of_tracings_and_defaults_to_info() {
        #[derive(Deserialize)]
        struct Doc {
            logging: LoggingSettings,
        }
        let parse = |t: &str| toml::from_str::<Doc>(t).map(|d| d.logging.level);
        assert_eq!(parse("[logging]\n").expect("empty"), LogLevel::Info);
        assert_eq!(
            parse("[logging]\nlevel = \"debug\"\n").expect("debug"),
            LogLevel::Debug
        );
        assert!(parse("[logging]\nlevel = \"loud\"\n").is_err());
        assert!(LogLevel::Debug.filter().starts_with("debug,rsipstack=warn"));
        assert!(LogLevel::Trace.filter().contains("rsipstack=warn"));
    }
}
