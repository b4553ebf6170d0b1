//! The engine's driver: one task that owns every call and turns SIP events and agent intents
//! into media sessions, snapshots and [`EngineEvent`]s.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_media::audio::catalog::DeviceList;
use switchboard_media::audio::ringer::Ringer;
use switchboard_media::codec::Codec;
use switchboard_media::ports::MediaSockets;
use switchboard_media::sdp::{check_offer, Direction, LocalSdp, Negotiated};
use switchboard_media::srtp::SrtpPolicy;
use switchboard_media::voice::VoiceConfig;
use switchboard_media::{
    AudioInput, AudioOutput, MediaError, MediaEvent, MediaListener, MediaSession, MediaStats,
    SessionConfig,
};
use switchboard_sip::{AccountConfig, CallId, EndReason, SipAgent, SipEvent};
use tokio::sync::{mpsc, oneshot, watch};

pub use crate::availability::AvailabilityConfig;
use crate::availability::{AgentState, Availability, Choice, Transition};
use crate::availability_file;
use crate::call::Call;
use crate::devices::{self, DeviceChoice, Ringing};
use crate::directory::{self, Expert};
use crate::error::DeskError;
use crate::escalation::Consult;
use crate::event::EngineEvent;
use crate::practice::PracticeLine;
use crate::practice_experts::PracticeExperts;
pub use crate::records::RecordsConfig;
use crate::screen_pop::{LookupResult, ScreenPop};
use crate::settings_view::SettingsView;
use crate::snapshot::{CallDirection, CallPhase, CallView, PolicyView, RegistrationView, Snapshot};
use crate::store::worker::StoreWorker;
use crate::store::HistoryEntry;
use crate::teams_link::TeamsView;

pub struct EngineConfig {
    pub account: AccountConfig,
    pub input: AudioInput,
    pub output: AudioOutput,
    /// Answer every incoming call at once (headless agents, tests).
    pub auto_answer: bool,
    /// A call arriving while the agent is on a call rings (call waiting); when off, it is
    /// refused with 486 Busy Here and the agent is told.
    pub call_waiting: bool,
    /// Run the practice line: no trunk, a simulated customer calls over loopback SIP.
    pub practice: bool,
    /// Whether calls are encrypted (SRTP with SDES keys).
    pub srtp: SrtpPolicy,
    /// The codecs calls may use, in our order of preference (empty: all we speak).
    pub codecs: Vec<Codec>,
    /// The devices chosen; they apply where `input` and `output` are devices.
    pub devices: DeviceChoice,
    pub ringing: Ringing,
    /// Echo cancellation, noise suppression and gain control on the microphone.
    pub voice: VoiceConfig,
    /// The agent's states: not-ready reasons, wrap-up, dispositions, and where to start.
    pub availability: AvailabilityConfig,
    /// Customer records and call history.
    pub records: RecordsConfig,
    /// The experts to escalate to (practice mode brings its own).
    pub directory: Vec<Expert>,
    /// The window's language (`[ui] language`); `None`: the system's.
    pub language: Option<String>,
}

fn state_event(change: Transition) -> EngineEvent {
    EngineEvent::AgentState {
        state: change.to,
        from: change.from,
        at_ms: change.at_ms,
        cause: change.cause,
    }
}

/// Wall-clock milliseconds, what agent states are reported in.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) enum Command {
    Answer(CallId),
    Hangup(CallId),
    Dial(String),
    Hold(CallId),
    Resume(CallId),
    Mute(CallId, bool),
    Dtmf(CallId, String),
    Transfer(CallId, String),
    Consult(CallId, String),
    Complete,
    CancelConsult,
    Conference,
    /// Ends a consult leg left over after an attended transfer, if the expert has not.
    DropConsultLeg(CallId),
    /// The agent chose other sound devices: used from now on, and by the calls in progress.
    UseDevices(DeviceChoice),
    /// The agent chose a state (Available, Not ready with a reason, Offline).
    ChooseState(Choice),
    /// The wrap-up's disposition was given (a headless agent, which keeps no codes).
    Disposed,
    SetNotes(CallId, String),
    SetDisposition(CallId, String),
    /// The directory from Microsoft 365: the experts with their presence, and the link's state.
    ShowDirectory(Vec<Expert>, TeamsView),
    /// The settings in effect, for the window's list.
    ShowSettings(SettingsView),
    Shutdown(oneshot::Sender<()>),
}

/// A handle on the running engine: send intents, read snapshots.
#[derive(Clone)]
pub struct Engine {
    commands: mpsc::UnboundedSender<Command>,
    store: StoreWorker,
    snapshot: watch::Receiver<Snapshot>,
}

impl Engine {
    /// Starts the SIP agent (and the practice line when asked) and the engine task. Events
    /// arrive on the returned receiver in order.
    pub async fn start(
        mut config: EngineConfig,
    ) -> Result<(Self, mpsc::UnboundedReceiver<EngineEvent>), DeskError> {
        let practice = if config.practice {
            let line = PracticeLine::start(config.account.bind).await?;
            config.account.trunk.clear();
            config.account.trusted_peer = Some(line.local_addr());
            Some(line)
        } else {
            None
        };
        let (agent, sip_events) = SipAgent::start(config.account.clone()).await?;
        let experts = match &practice {
            Some(_) => Some(PracticeExperts::start(agent.local_addr()).await?),
            None => None,
        };
        let mut directory = match &experts {
            Some(line) => directory::practice(&line.local_addr().to_string()),
            None => config.directory.clone(),
        };
        if experts.is_some() {
            directory::practice_presence(&mut directory, now_ms());
        }
        let (events, events_rx) = mpsc::unbounded_channel();
        let registration = if practice.is_some() {
            RegistrationView::Practice
        } else {
            RegistrationView::Connecting
        };
        let a = &config.availability;
        let mut availability = Availability::new(
            a.wrap_up.clone(),
            a.reasons.clone(),
            a.start.clone(),
            now_ms(),
        );
        let store = config.records.open(practice.is_some())?;
        let policy = PolicyView {
            not_ready_reasons: a.reasons.clone(),
            dispositions: a.dispositions.clone(),
            disposition_required: a.wrap_up.disposition_required,
        };
        let snapshot = Snapshot {
            registration,
            account: config.account.user.clone(),
            calls: Vec::new(),
            devices: DeviceList::default(),
            chosen_devices: config.devices.clone(),
            agent: availability.state().clone(),
            agent_since_ms: availability.since_ms(),
            after_call: None,
            policy,
            directory,
            language: config.language.clone(),
            teams: None,
            settings: SettingsView::default(),
        };
        // The restored state is told first, before anything the trunk says.
        let restored = availability.take_changes();
        // Only an engine on real devices reads the device list (a round trip to the sound
        // server every two seconds).
        let uses_devices = matches!(config.input, AudioInput::Device(_))
            || matches!(config.output, AudioOutput::Device(_))
            || config.ringing == Ringing::On;
        let device_lists = if uses_devices {
            devices::watch()
        } else {
            mpsc::unbounded_channel().1
        };
        let (snapshot_tx, snapshot_rx) = watch::channel(snapshot);
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let _ = events.send(EngineEvent::Ready {
            local: agent.local_addr().to_string(),
            practice: practice.is_some(),
        });
        for change in restored {
            let _ = events.send(state_event(change));
        }
        if let Some(line) = &practice {
            line.call_agent_every(agent.local_addr(), &config.account.user);
        }
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        let (lookups, lookups_rx) = mpsc::unbounded_channel();
        let task = EngineTask {
            screen_pop: ScreenPop {
                store: store.clone(),
                crm: config.records.connector(),
                done: lookups,
            },
            store: store.clone(),
            after_call: None,
            commands: commands.clone(),
            consult: None,
            agent,
            config,
            calls: BTreeMap::new(),
            events,
            snapshot: snapshot_tx,
            pending: Vec::new(),
            media_events: media_tx,
            ringer: None,
            availability,
            _practice: practice,
            practice_experts: experts,
        };
        tokio::spawn(task.run(sip_events, commands_rx, media_rx, device_lists, lookups_rx));
        Ok((
            Self {
                commands,
                store,
                snapshot: snapshot_rx,
            },
            events_rx,
        ))
    }

    pub fn answer(&self, call: CallId) -> Result<(), DeskError> {
        self.send(Command::Answer(call))
    }

    pub fn hangup(&self, call: CallId) -> Result<(), DeskError> {
        self.send(Command::Hangup(call))
    }

    /// Places a call to a SIP URI or a number/user at the trunk.
    pub fn dial(&self, target: String) -> Result<(), DeskError> {
        self.send(Command::Dial(target))
    }

    /// Puts a connected call on hold (re-INVITE, sendonly); the agent's microphone is cut at
    /// once, before the far end has answered.
    pub fn hold(&self, call: CallId) -> Result<(), DeskError> {
        self.send(Command::Hold(call))
    }

    pub fn resume(&self, call: CallId) -> Result<(), DeskError> {
        self.send(Command::Resume(call))
    }

    /// Mutes (or unmutes) the agent's microphone on a call.
    pub fn mute(&self, call: CallId, muted: bool) -> Result<(), DeskError> {
        self.send(Command::Mute(call, muted))
    }

    /// Sends DTMF keys (0-9, *, #, A-D): RFC 4733 events, or SIP INFO when the peer offered none.
    pub fn dtmf(&self, call: CallId, keys: String) -> Result<(), DeskError> {
        self.send(Command::Dtmf(call, keys))
    }

    /// Blind transfer: the caller is sent on to `target` (REFER); our leg ends when it succeeds.
    pub fn transfer(&self, call: CallId, target: String) -> Result<(), DeskError> {
        self.send(Command::Transfer(call, target))
    }

    /// Puts `call` on hold and calls `target` to consult them.
    pub fn consult(&self, call: CallId, target: String) -> Result<(), DeskError> {
        self.send(Command::Consult(call, target))
    }

    /// Attended transfer: hands the held caller to the consulted party (REFER with Replaces).
    pub fn complete_transfer(&self) -> Result<(), DeskError> {
        self.send(Command::Complete)
    }

    /// Ends the consult call (ringing or answered) and takes the caller off hold.
    pub fn cancel_consult(&self) -> Result<(), DeskError> {
        self.send(Command::CancelConsult)
    }

    /// Joins the caller and the consulted party with the agent in a three-way call.
    pub fn conference(&self) -> Result<(), DeskError> {
        self.send(Command::Conference)
    }

    /// Uses these sound devices from now on, in the calls in progress too.
    pub fn use_devices(&self, choice: DeviceChoice) -> Result<(), DeskError> {
        self.send(Command::UseDevices(choice))
    }

    pub fn choose_state(&self, choice: Choice) -> Result<(), DeskError> {
        self.send(Command::ChooseState(choice))
    }

    /// The wrap-up's disposition was given (a required one holds wrap-up until then).
    pub fn disposed(&self) -> Result<(), DeskError> {
        self.send(Command::Disposed)
    }

    /// The agent's notes on a call (live or in wrap-up), as they stand: saved at once.
    pub fn set_notes(&self, call: CallId, notes: String) -> Result<(), DeskError> {
        self.send(Command::SetNotes(call, notes))
    }

    /// The call's disposition, one of the policy's codes.
    pub fn set_disposition(&self, call: CallId, code: String) -> Result<(), DeskError> {
        self.send(Command::SetDisposition(call, code))
    }

    /// Shows these experts (the Teams roster with presence) and the Microsoft 365 link's
    /// state. Practice mode keeps its own experts: it has no trunk to reach these.
    pub fn show_directory(&self, experts: Vec<Expert>, teams: TeamsView) -> Result<(), DeskError> {
        self.send(Command::ShowDirectory(experts, teams))
    }

    /// Shows the settings in effect (and what the machine policy locks) in the snapshot.
    pub fn show_settings(&self, view: SettingsView) -> Result<(), DeskError> {
        self.send(Command::ShowSettings(view))
    }

    /// The calls whose parties, number, disposition or notes contain `text`, newest first.
    pub async fn history(&self, text: String) -> Result<Vec<HistoryEntry>, DeskError> {
        Ok(self.store.ask(move |s| s.history(&text)).await?)
    }

    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.borrow().clone()
    }

    /// A receiver that sees every new snapshot.
    pub fn snapshots(&self) -> watch::Receiver<Snapshot> {
        self.snapshot.clone()
    }

    /// Hangs up every call, unregisters and stops.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.send(Command::Shutdown(done)).is_ok() {
            let _ = wait.await;
        }
    }

    fn send(&self, command: Command) -> Result<(), DeskError> {
        self.commands.send(command).map_err(|_| DeskError::Stopped)
    }
}

pub(crate) struct EngineTask {
    /// Our own command queue, for work scheduled for later.
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    /// The consultation in progress (customer held, expert called), if any.
    pub(crate) consult: Option<Consult>,
    pub(crate) agent: SipAgent,
    pub(crate) config: EngineConfig,
    pub(crate) calls: BTreeMap<CallId, Call>,
    events: mpsc::UnboundedSender<EngineEvent>,
    snapshot: watch::Sender<Snapshot>,
    /// Events of the input being handled, sent after the snapshot is published.
    pending: Vec<EngineEvent>,
    /// Where media threads report (keys pressed by the far end).
    media_events: mpsc::UnboundedSender<(CallId, MediaEvent)>,
    /// Sounding while an incoming call waits for the agent.
    ringer: Option<Ringer>,
    pub(crate) availability: Availability,
    /// Customer records and history, written off the loop.
    pub(crate) store: StoreWorker,
    /// Looks callers up (store or CRM); answers come back on the loop's lookups channel.
    pub(crate) screen_pop: ScreenPop,
    /// The call just ended, on screen through wrap-up.
    pub(crate) after_call: Option<CallView>,
    _practice: Option<PracticeLine>,
    /// The practice directory's experts, whose presence the engine moves on.
    practice_experts: Option<PracticeExperts>,
}

impl EngineTask {
    async fn run(
        mut self,
        mut sip: mpsc::UnboundedReceiver<SipEvent>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut media: mpsc::UnboundedReceiver<(CallId, MediaEvent)>,
        mut device_lists: mpsc::UnboundedReceiver<DeviceList>,
        mut lookups: mpsc::UnboundedReceiver<LookupResult>,
    ) {
        loop {
            let wrap_up = self.wrap_up_left();
            let practice = self.practice_experts.is_some();
            tokio::select! {
                _ = tokio::time::sleep(wrap_up) => self.availability.handle_timeout(now_ms()),
                _ = tokio::time::sleep(std::time::Duration::from_millis(
                    directory::until_practice_change(now_ms())
                )), if practice => {
                    self.snapshot.send_modify(|s| {
                        directory::practice_presence(&mut s.directory, now_ms())
                    })
                }
                Some((call, event)) = media.recv() => self.on_media(call, event),
                Some(devices) = device_lists.recv() => self.on_devices(devices),
                Some((call, found)) = lookups.recv() => self.on_lookup(call, found),
                event = sip.recv() => match event {
                    Some(event) => self.on_sip(event).await,
                    None => break,
                },
                command = commands.recv() => match command {
                    Some(Command::Shutdown(done)) => {
                        self.shutdown().await;
                        let _ = done.send(());
                        return;
                    }
                    Some(command) => self.on_command(command).await,
                    None => break,
                },
            }
            self.publish();
        }
        self.shutdown().await;
    }

    /// Queues an event; it goes out after the snapshot that reflects it (see `publish`).
    pub(crate) fn emit(&mut self, event: EngineEvent) {
        self.pending.push(event);
    }

    /// Publishes the snapshot, then the events that led to it, so that whoever sees an event
    /// finds its effect already in `Engine::snapshot`.
    fn publish(&mut self) {
        self.report_state_changes();
        self.ring_while_a_call_waits();
        self.snapshot.send_modify(|s| {
            s.calls = self.calls.values().map(|c| c.view.clone()).collect();
            s.after_call.clone_from(&self.after_call);
        });
        for event in self.pending.drain(..) {
            let _ = self.events.send(event);
        }
    }

    async fn on_sip(&mut self, event: SipEvent) {
        match event {
            SipEvent::Registered { expires_secs } => {
                self.snapshot.send_modify(|s| {
                    s.registration = RegistrationView::Registered {
                        expires: expires_secs,
                    }
                });
                self.emit(EngineEvent::Registered {
                    expires: expires_secs,
                });
            }
            SipEvent::RegistrationFailed {
                status,
                reason,
                retry_in_secs,
            } => {
                self.snapshot.send_modify(|s| {
                    s.registration = RegistrationView::Failed {
                        status,
                        reason: reason.clone(),
                        retry_in: retry_in_secs,
                    }
                });
                self.emit(EngineEvent::RegistrationFailed {
                    status,
                    reason,
                    retry_in: retry_in_secs,
                });
            }
            SipEvent::Incoming {
                call,
                from_display,
                from_uri,
                offer,
                replaces,
            } => self.on_incoming(call, from_uri, from_display, offer, replaces),
            SipEvent::Ringing { call } => {
                // Our own 180 on an inbound call also shows as an early dialog: report only
                // the far end alerting on calls we placed.
                if self
                    .calls
                    .get(&call)
                    .is_some_and(|c| c.view.direction == CallDirection::Outbound)
                {
                    self.emit(EngineEvent::Ringing { call });
                }
            }
            SipEvent::EarlyMedia { call, answer } => self.on_early_media(&call, &answer),
            SipEvent::Answered { call, answer } => self.on_answered(&call, &answer).await,
            SipEvent::Established { .. } => {}
            SipEvent::Ended { call, reason } => {
                let Some(ended) = self.calls.remove(&call) else {
                    return;
                };
                let reason = if ended.transferred {
                    EndReason::Transferred
                } else {
                    reason
                };
                let stats = ended.media.map(MediaSession::stop);
                let connected = ended.view.connected_at_ms.is_some();
                self.record_ended(ended.view, &reason, stats);
                if connected {
                    self.availability.call_ended(now_ms());
                    self.after_call_disposed();
                }
                let stats = stats.unwrap_or_default();
                self.emit(EngineEvent::Ended {
                    call: call.clone(),
                    reason: reason.clone(),
                    stats,
                });
                self.on_call_gone(&call, (&reason, connected));
            }
            SipEvent::Reoffer { call, offer } => self.on_reoffer(&call, offer.as_deref()),
            SipEvent::Renegotiated { call, answer } => self.on_renegotiated(&call, &answer),
            SipEvent::RenegotiationFailed {
                call,
                status,
                reason,
            } => self.on_renegotiation_failed(&call, status, reason),
            SipEvent::Dtmf { call, key } => self.emit(EngineEvent::DtmfReceived {
                call,
                key: key.to_string(),
            }),
            SipEvent::TransferProgress { call, status, done } => {
                self.on_transfer_progress(&call, status, done)
            }
            // The agent's account declines transfers (`accept_transfers` is off): never here.
            SipEvent::TransferRequested { call, .. } => {
                tracing::warn!(%call, "a transfer request reached the agent's line; ignored")
            }
        }
    }

    fn on_incoming(
        &mut self,
        call: CallId,
        caller: String,
        display_name: Option<String>,
        offer: String,
        replaces: Option<CallId>,
    ) {
        tracing::info!(%call, ?replaces, "incoming call");
        // A replacement takes over a call the agent already has: never busy, never ringing.
        let replaces = replaces.filter(|old| self.calls.contains_key(old));
        if replaces.is_none() && !self.availability.may_ring() {
            // 480: the agent is there but not taking calls; the ACD tries someone else.
            let _ = self.agent.reject(&call, 480);
            self.emit(EngineEvent::RefusedUnavailable {
                caller,
                display_name,
                state: self.availability.state().clone(),
            });
            return;
        }
        if replaces.is_none() && !self.config.call_waiting && !self.calls.is_empty() {
            let _ = self.agent.reject(&call, 486);
            self.emit(EngineEvent::RefusedBusy {
                caller,
                display_name,
            });
            return;
        }
        if let Err(e) = check_offer(&offer, self.config.srtp, &self.config.codecs) {
            tracing::warn!(%call, "refused before ringing: {e}");
            let _ = self.agent.reject(&call, 488);
            self.emit(EngineEvent::RefusedUnacceptable {
                caller,
                display_name,
                reason: e.to_string(),
            });
            return;
        }
        self.emit(EngineEvent::Incoming {
            call: call.clone(),
            caller: caller.clone(),
            display_name: display_name.clone(),
            replaces: replaces.clone(),
        });
        let mut new = Call::inbound(call.clone(), caller, display_name, offer);
        new.replaces = replaces.clone();
        self.record_offered(&mut new);
        self.calls.insert(call.clone(), new);
        if let Some(old) = &replaces {
            self.take_over(old, &call);
        }
        if self.config.auto_answer || replaces.is_some() {
            self.answer(&call);
        }
    }

    /// The consultation, if it involves `old`, now involves `new`.
    fn take_over(&mut self, old: &CallId, new: &CallId) {
        if let Some(consult) = self.consult.as_mut() {
            if &consult.customer == old {
                consult.customer = new.clone();
            }
            if &consult.expert == old {
                consult.expert = new.clone();
            }
        }
        let consult_for = self.calls.get(old).and_then(|c| c.view.consult_for.clone());
        if let Some(call) = self.calls.get_mut(new) {
            call.view.consult_for = consult_for;
        }
    }

    /// Rings while an incoming call waits for the agent, and only then.
    fn ring_while_a_call_waits(&mut self) {
        let waiting = self
            .calls
            .values()
            .any(|c| c.view.phase == CallPhase::Ringing);
        let ring = waiting && self.config.ringing == Ringing::On;
        if ring && self.ringer.is_none() {
            self.ringer = Some(Ringer::start(self.config.devices.ringer.clone()));
        } else if !ring {
            self.ringer = None;
        }
    }

    fn on_devices(&mut self, devices: DeviceList) {
        self.snapshot.send_modify(|s| s.devices = devices.clone());
        self.emit(EngineEvent::AudioDevices { devices });
    }

    fn use_devices(&mut self, choice: DeviceChoice) {
        if let AudioInput::Device(id) = &mut self.config.input {
            id.clone_from(&choice.microphone);
        }
        if let AudioOutput::Device(id) = &mut self.config.output {
            id.clone_from(&choice.speaker);
        }
        if self.config.devices.ringer != choice.ringer && self.ringer.is_some() {
            self.ringer = Some(Ringer::start(choice.ringer.clone()));
        }
        for media in self.calls.values().filter_map(|c| c.media.as_ref()) {
            media.use_devices(choice.microphone.clone(), choice.speaker.clone());
        }
        self.snapshot
            .send_modify(|s| s.chosen_devices = choice.clone());
        self.config.devices = choice;
    }

    fn on_media(&mut self, call: CallId, event: MediaEvent) {
        match event {
            MediaEvent::Dtmf { key } => self.emit(EngineEvent::DtmfReceived {
                call,
                key: key.to_string(),
            }),
            MediaEvent::Quality(stats) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.view.quality = Some(stats);
                }
                self.emit(EngineEvent::CallQuality { call, stats });
            }
            MediaEvent::Device(switch) => self.emit(EngineEvent::DeviceChanged {
                call,
                direction: switch.direction,
                device: switch.device,
                chosen: switch.chosen,
            }),
            // No audio can cross (never in the clear): end the call and say why.
            MediaEvent::KeyingFailed { reason } => {
                tracing::warn!(%call, "hanging up: {reason}");
                let _ = self
                    .agent
                    .hangup_because(&call, EndReason::MediaFailed { detail: reason });
            }
        }
    }

    async fn on_command(&mut self, command: Command) {
        let result = match command {
            Command::Answer(call) => {
                self.answer(&call);
                Ok(())
            }
            Command::Hangup(call) => self.agent.hangup(&call).map_err(DeskError::from),
            Command::Dial(target) => self.dial(&target).map(|_| ()),
            Command::Hold(call) => self.hold(&call, true),
            Command::Resume(call) => self.hold(&call, false),
            Command::Mute(call, muted) => self.mute(&call, muted),
            Command::Dtmf(call, keys) => self.send_dtmf(&call, &keys),
            Command::Transfer(call, target) => self.transfer(&call, target),
            Command::Consult(call, target) => self.consult(&call, target),
            Command::Complete => self.complete(),
            Command::CancelConsult => self.cancel_consult(),
            Command::Conference => self.conference(),
            Command::DropConsultLeg(call) => {
                if self.calls.contains_key(&call) {
                    let _ = self.agent.hangup(&call);
                }
                Ok(())
            }
            Command::UseDevices(choice) => {
                self.use_devices(choice);
                Ok(())
            }
            Command::ChooseState(choice) => self
                .availability
                .choose(choice, now_ms())
                .map_err(|e| DeskError::Command(e.to_string())),
            Command::Disposed => {
                self.availability.disposed();
                Ok(())
            }
            Command::SetNotes(call, notes) => self.set_notes(&call, notes),
            Command::SetDisposition(call, code) => self.set_disposition(&call, code),
            Command::ShowDirectory(experts, teams) => {
                let practice = self.practice_experts.is_some();
                self.snapshot.send_modify(|s| {
                    if !practice {
                        s.directory = experts;
                    }
                    s.teams = Some(teams);
                });
                Ok(())
            }
            Command::ShowSettings(view) => {
                self.snapshot.send_modify(|s| s.settings = view);
                Ok(())
            }
            Command::Shutdown(_) => Ok(()),
        };
        if let Err(e) = result {
            self.emit(EngineEvent::Error {
                message: e.to_string(),
            });
        }
    }

    /// How long until wrap-up's timer is due (an hour when there is none: the loop wakes anyway).
    fn wrap_up_left(&self) -> std::time::Duration {
        let hour = std::time::Duration::from_secs(3600);
        self.availability.poll_timeout().map_or(hour, |at| {
            std::time::Duration::from_millis(at.saturating_sub(now_ms()))
        })
    }

    /// Publishes the agent's state changes: in the snapshot, and as events for the report.
    fn report_state_changes(&mut self) {
        let changes = self.availability.take_changes();
        if changes.is_empty() {
            return;
        }
        if !matches!(self.availability.state(), AgentState::WrapUp { .. }) {
            self.after_call = None;
        }
        let (state, since) = (
            self.availability.state().clone(),
            self.availability.since_ms(),
        );
        if let Some(path) = &self.config.availability.state_file {
            if let Err(e) = availability_file::save(path, &state) {
                tracing::warn!("{}: agent state not saved: {e}", path.display());
            }
        }
        self.snapshot.send_modify(|s| {
            s.agent = state;
            s.agent_since_ms = since;
        });
        for change in changes {
            self.pending.push(state_event(change));
        }
    }

    /// Answers a ringing call: SDP answer, media up, 200 OK. A call whose media cannot be set
    /// up is refused (488) rather than answered into silence.
    fn answer(&mut self, id: &CallId) {
        let listener = self.listener(id);
        let Some(call) = self.calls.get_mut(id) else {
            self.emit(EngineEvent::Error {
                message: format!("no call {id} to answer"),
            });
            return;
        };
        if call.view.phase != CallPhase::Ringing {
            return;
        }
        // Answering a waiting call puts the one the agent is talking on on hold first (not
        // the one this call replaces: that one ends).
        let replaced = call.replaces.clone();
        let talking: Vec<CallId> = self
            .calls
            .values()
            .filter(|c| {
                &c.view.id != id
                    && Some(&c.view.id) != replaced.as_ref()
                    && c.view.phase == CallPhase::Connected
                    && !c.view.held
                    && c.hold_change.is_none()
            })
            .map(|c| c.view.id.clone())
            .collect();
        for other in talking {
            if let Err(e) = self.hold(&other, true) {
                tracing::warn!(call = %other, "cannot hold before answering another call: {e}");
            }
        }
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let offer = call.offer.take().unwrap_or_default();
        let (srtp, codecs) = (self.config.srtp, &self.config.codecs);
        let (answer, sdp, socket, negotiated) =
            match prepare_answer(&offer, self.agent.local_addr(), srtp, codecs) {
                Ok(prepared) => prepared,
                Err(e) => {
                    tracing::warn!(call = %id, "cannot answer: {e}");
                    let not_acceptable = matches!(
                        e,
                        MediaError::NoCommonCodec | MediaError::Sdp(_) | MediaError::Srtp(_)
                    );
                    let status = if not_acceptable { 488 } else { 500 };
                    let _ = self.agent.reject(id, status);
                    return;
                }
            };
        if let Err(e) = self.agent.answer(id, &answer) {
            self.emit(EngineEvent::Error {
                message: format!("answer failed: {e}"),
            });
            return;
        }
        // The 200 is out before the devices open: the caller is not kept waiting on them, and
        // their first RTP waits in the socket, already bound, until the media thread reads it.
        call.sdp = Some(sdp);
        let media = start_media(&self.config, socket, negotiated, listener);
        match media {
            Ok(media) => {
                call.connect(media, SystemTime::now());
                self.availability.call_started(now_ms());
                self.record_answered(id);
                self.emit(EngineEvent::Answered { call: id.clone() });
            }
            Err(e) => {
                tracing::warn!(call = %id, "answered, but the audio did not start: {e}");
                self.emit(EngineEvent::Error {
                    message: format!("media for {id}: {e}"),
                });
                let reason = EndReason::MediaFailed {
                    detail: e.to_string(),
                };
                let _ = self.agent.hangup_because(id, reason);
            }
        }
    }

    pub(crate) fn dial(&mut self, target: &str) -> Result<CallId, DeskError> {
        let socket = MediaSockets::bind(self.agent.local_addr().ip())?;
        let mut sdp = LocalSdp::secured(socket.rtp_addr()?, self.config.srtp)?
            .with_codecs(&self.config.codecs);
        let offer = sdp.offer(Direction::SendRecv);
        let id = self.agent.call(target, &offer)?;
        let mut call = Call::outbound(id.clone(), target.to_owned(), socket, sdp);
        self.record_offered(&mut call);
        self.calls.insert(id.clone(), call);
        Ok(id)
    }

    /// Passes what a call's media thread reports back into the engine's loop.
    fn listener(&self, call: &CallId) -> MediaListener {
        let events = self.media_events.clone();
        let call = call.clone();
        Box::new(move |event| {
            let _ = events.send((call.clone(), event));
        })
    }

    /// Starts the media of an outgoing call on its early SDP, receiving only: the agent hears
    /// what the far end plays before answering, and says nothing to it yet.
    fn on_early_media(&mut self, id: &CallId, answer: &str) {
        let Some(call) = self.calls.get(id) else {
            return;
        };
        if call.view.phase != CallPhase::Dialing {
            return;
        }
        match self.start_outbound_media(id, answer, Direction::RecvOnly) {
            Ok(()) => self.emit(EngineEvent::EarlyMedia { call: id.clone() }),
            // Early media is a courtesy: without it the call still goes on to its answer.
            Err(e) => tracing::warn!(call = %id, "early media not played: {e}"),
        }
    }

    /// Reads the far end's SDP on our outgoing call and starts its media, or changes the
    /// media already running (early media) to it. `wish` caps what we do on the stream.
    fn start_outbound_media(
        &mut self,
        id: &CallId,
        answer: &str,
        wish: Direction,
    ) -> Result<(), DeskError> {
        let listener = self.listener(id);
        let call = self.calls.get_mut(id).ok_or(DeskError::NoSuchCall)?;
        let sdp = call
            .sdp
            .as_mut()
            .ok_or_else(|| DeskError::Command(format!("call {id} has no SDP of ours")))?;
        let mut negotiated = sdp.read_answer(answer, Direction::SendRecv)?;
        negotiated.direction = negotiated.direction.and(wish);
        if let Some(media) = call.media.as_mut() {
            media.renegotiate(negotiated);
            return Ok(());
        }
        let socket = call
            .socket
            .take()
            .ok_or_else(|| DeskError::Command(format!("call {id} has no media socket")))?;
        call.media = Some(start_media(&self.config, socket, negotiated, listener)?);
        Ok(())
    }

    async fn on_answered(&mut self, id: &CallId, answer: &str) {
        if !self.calls.contains_key(id) {
            return;
        }
        match self.start_outbound_media(id, answer, Direction::SendRecv) {
            Ok(()) => {
                if let Some(call) = self.calls.get_mut(id) {
                    call.connected(SystemTime::now());
                }
                self.availability.call_started(now_ms());
                self.record_answered(id);
                self.emit(EngineEvent::Answered { call: id.clone() });
            }
            Err(e) => {
                self.emit(EngineEvent::Error {
                    message: format!("media for {id}: {e}"),
                });
                // Hang up rather than keep a call with no audio; the Ended event follows.
                let _ = self.agent.hangup(id);
            }
        }
    }

    async fn shutdown(&mut self) {
        let ids: Vec<CallId> = self.calls.keys().cloned().collect();
        for id in ids {
            let _ = self.agent.hangup(&id);
            if let Some(call) = self.calls.remove(&id) {
                let stats = call
                    .media
                    .map(MediaSession::stop)
                    .unwrap_or_else(MediaStats::default);
                self.emit(EngineEvent::Ended {
                    call: id,
                    reason: EndReason::LocalHangup,
                    stats,
                });
            }
        }
        self.publish();
        self.agent.shutdown().await;
    }
}

/// A call's media on the configured audio, reporting to `listener`.
fn start_media(
    config: &EngineConfig,
    sockets: MediaSockets,
    negotiated: Negotiated,
    listener: MediaListener,
) -> Result<MediaSession, MediaError> {
    MediaSession::start(SessionConfig {
        sockets,
        negotiated,
        input: config.input.clone(),
        output: config.output.clone(),
        listener: Some(listener),
        voice: config.voice,
    })
}

/// Our SDP answer to `offer`, on fresh RTP and RTCP sockets: everything the 200 needs, and
/// what the media session will need once it is sent.
fn prepare_answer(
    offer: &str,
    sip_local: SocketAddr,
    srtp: SrtpPolicy,
    codecs: &[Codec],
) -> Result<(String, LocalSdp, MediaSockets, Negotiated), MediaError> {
    let socket = MediaSockets::bind(sip_local.ip())?;
    let mut sdp = LocalSdp::secured(socket.rtp_addr()?, srtp)?.with_codecs(codecs);
    let (answer, negotiated) = sdp.answer(offer, Direction::SendRecv)?;
    Ok((answer, sdp, socket, negotiated))
}
