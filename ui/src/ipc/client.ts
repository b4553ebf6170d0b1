// The only door to the engine: typed commands and events over Tauri IPC. Types come from
// ./bindings.ts, which the Rust side generates.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { BundleReport, CallId, Choice, LinkPrompt, UpdateView, DeviceChoice, EngineEvent, Expert, HistoryEntry, Snapshot } from "./bindings";

export const snapshot = (): Promise<Snapshot> => invoke<Snapshot>("snapshot");
export const answerCall = (call: CallId): Promise<void> => invoke("answer_call", { call });
export const hangupCall = (call: CallId): Promise<void> => invoke("hangup_call", { call });
export const holdCall = (call: CallId): Promise<void> => invoke("hold_call", { call });
export const resumeCall = (call: CallId): Promise<void> => invoke("resume_call", { call });
export const dial = (target: string): Promise<void> => invoke("dial", { target });
export const sendDtmf = (call: CallId, keys: string): Promise<void> => invoke("send_dtmf", { call, keys });
export const muteCall = (call: CallId, muted: boolean): Promise<void> => invoke("mute_call", { call, muted });
export const transferCall = (call: CallId, target: string): Promise<void> => invoke("transfer_call", { call, target });
export const consult = (call: CallId, target: string): Promise<void> => invoke("consult", { call, target });
export const completeTransfer = (): Promise<void> => invoke("complete_transfer");
export const conference = (): Promise<void> => invoke("conference");
export const cancelConsult = (): Promise<void> => invoke("cancel_consult");
export const openRecord = (call: CallId): Promise<void> => invoke("open_record", { call });
export const chooseState = (choice: Choice): Promise<void> => invoke("choose_state", { choice });
export const setNotes = (call: CallId, notes: string): Promise<void> => invoke("set_notes", { call, notes });
export const setDisposition = (call: CallId, code: string): Promise<void> =>
  invoke("set_disposition", { call, code });
export const history = (search: string): Promise<HistoryEntry[]> => invoke<HistoryEntry[]>("history", { search });
export const chooseDevices = (choice: DeviceChoice): Promise<void> => invoke("choose_devices", { choice });
export const provisionPrompt = (): Promise<LinkPrompt | null> => invoke<LinkPrompt | null>("provision_prompt");
export const acceptProvision = (id: number, password: string | null): Promise<void> =>
  invoke("accept_provision", { id, password });
export const declineProvision = (id: number | null): Promise<void> => invoke("decline_provision", { id });
export const onProvisionLink = (f: (p: LinkPrompt) => void): Promise<UnlistenFn> =>
  listen<LinkPrompt>("provision-link", (e) => f(e.payload));
export const updateStatus = (): Promise<UpdateView> => invoke<UpdateView>("update_status");
export const checkUpdate = (): Promise<UpdateView> => invoke<UpdateView>("check_update");
export const installUpdate = (): Promise<UpdateView> => invoke<UpdateView>("install_update");
export const onUpdateStatus = (f: (u: UpdateView) => void): Promise<UnlistenFn> =>
  listen<UpdateView>("update-status", (e) => f(e.payload));
export const createDiagnostics = (): Promise<BundleReport> => invoke<BundleReport>("create_diagnostics");
export const teamsSignIn = (method: "browser" | "deviceCode"): Promise<void> => invoke("teams_sign_in", { method });
export const teamsCancelSignIn = (): Promise<void> => invoke("teams_cancel_sign_in");
export const teamsSignOut = (): Promise<void> => invoke("teams_sign_out");
export const searchExperts = (text: string): Promise<Expert[]> => invoke<Expert[]>("search_experts", { text });
/** Escalates to a directory expert, their presence read again first (refused when no longer free, unless `anyway`). */
export const escalateTo = (call: CallId, expert: string, how: "consult" | "transfer", anyway: boolean): Promise<void> =>
  invoke("escalate", { call, expert, how, anyway });

export const onSnapshot = (f: (s: Snapshot) => void): Promise<UnlistenFn> =>
  listen<Snapshot>("snapshot-changed", (e) => f(e.payload));
export const onEngineEvent = (f: (e: EngineEvent) => void): Promise<UnlistenFn> =>
  listen<EngineEvent>("engine-event", (e) => f(e.payload));
