#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SipError {
    #[error("invalid SIP URI {uri:?}: {reason}")]
    InvalidUri { uri: String, reason: String },
    #[error("cannot resolve {0}")]
    Resolve(String),
    #[error("cannot locate the trunk: {0}")]
    TrunkNotFound(String),
    #[error("cannot read the trunk's certificate authorities from {path}: {reason}")]
    TlsRoots { path: String, reason: String },
    #[error("no such call")]
    NoSuchCall,
    #[error("call is not in a state that allows this")]
    WrongState,
    #[error("a request of ours is still pending on this call")]
    Pending,
    #[error("{0:?} is not a DTMF key (0-9, *, #, A-D)")]
    NotDtmf(char),
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// Boxed: the stack's error is large, and every call-control result carries this type.
    #[error("SIP stack: {0}")]
    Stack(Box<rsipstack::Error>),
}

impl From<rsipstack::Error> for SipError {
    fn from(e: rsipstack::Error) -> Self {
        SipError::Stack(Box::new(e))
    }
}
