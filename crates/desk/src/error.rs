#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeskError {
    #[error(transparent)]
    Sip(#[from] switchboard_sip::SipError),
    #[error(transparent)]
    Media(#[from] switchboard_media::MediaError),
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Command(String),
    #[error("no such call")]
    NoSuchCall,
    #[error("the engine has stopped")]
    Stopped,
}
