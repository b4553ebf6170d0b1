#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SipError {
    #[error("invalid SIP URI {uri:?}: {reason}")]
    InvalidUri { uri: String, reason: String },
    #[error("cannot resolve {0}")]
    Resolve(String),
    #[error("no such call")]
    NoSuchCall,
    #[error("call is not in a state that allows this")]
    WrongState,
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("SIP stack: {0}")]
    Stack(#[from] rsipstack::Error),
}
