// How engine state reads to an agent. Pure functions, unit-tested; components only render.
import type {
  AgentState,
  AudioDevice,
  CallView,
  Choice,
  DeviceList,
  Direction,
  HistoryEntry,
  Interaction,
  PolicyView,
  RegistrationView,
} from "../ipc/bindings";

/** "0:07", "12:04", "1:02:03" for a call connected at `connectedAtMs`. */
export function callTimer(connectedAtMs: number | null, nowMs: number): string {
  if (connectedAtMs === null) return "";
  const total = Math.max(0, Math.floor((nowMs - connectedAtMs) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export type Tone = "ok" | "warn" | "bad" | "info";

/** The registration badge: a short label, a tone, and a detail for the tooltip. */
export function registrationBadge(r: RegistrationView): { label: string; tone: Tone; detail: string } {
  switch (r.state) {
    case "connecting":
      return { label: "Connecting…", tone: "info", detail: "Registering with the trunk" };
    case "registered":
      return { label: "Registered", tone: "ok", detail: `Registration valid for ${r.expires} s` };
    case "practice":
      return { label: "Practice mode", tone: "info", detail: "No trunk configured: a practice customer will call you" };
    case "failed": {
      const code = r.status === null ? "" : ` (${r.status})`;
      return { label: `Not registered${code}`, tone: "bad", detail: `${r.reason}; retrying in ${r.retryIn} s` };
    }
  }
}

/** Who is on the line: the display name as text if there is one, else the SIP user. */
export function callerName(call: CallView): string {
  const name = call.displayName?.trim();
  if (name) return name;
  const m = /^sips?:([^@;]+)@/.exec(call.remote);
  return m ? m[1] : call.remote;
}

export function phaseLabel(call: CallView): string {
  switch (call.phase) {
    case "ringing":
      return "Incoming call";
    case "dialing":
      return "Calling…";
    case "connected":
      return "Connected";
  }
}

/** One entry of a device menu: its value (null: follow the system's default) and its label. */
export type DeviceOption = { value: string | null; label: string };

/**
 * A device menu: the system's default first (naming what it is now), then every device present,
 * and the agent's choice even when it is not plugged in, so that it stays visible and chosen.
 */
export function deviceOptions(devices: AudioDevice[], chosen: string | null): DeviceOption[] {
  const current = devices.find((d) => d.isDefault);
  const options: DeviceOption[] = [
    { value: null, label: current ? `System default (${current.name})` : "System default" },
    ...devices.map((d) => ({ value: d.id, label: d.name })),
  ];
  if (chosen !== null && !devices.some((d) => d.id === chosen)) {
    options.push({ value: chosen, label: `${chosen} (not connected)` });
  }
  return options;
}

/** What to call a device the engine names by id: its name when it is listed, else the id. */
export function deviceName(devices: DeviceList | undefined, direction: Direction, id: string): string {
  const list = direction === "input" ? devices?.microphones : devices?.speakers;
  return list?.find((d) => d.id === id)?.name ?? id;
}

/** A device change during a call, as a notice: a lost headset is news, a returning one too. */
export function deviceNotice(direction: Direction, device: string, chosen: boolean): string {
  const what = direction === "input" ? "Microphone" : "Speaker";
  return chosen ? `${what}: back on ${device}` : `${what}: your choice is not connected, using ${device}`;
}

/** The agent's state as the menu and the badge say it. */
export function stateLabel(agent: AgentState): string {
  switch (agent.state) {
    case "offline":
      return "Offline";
    case "available":
      return "Available";
    case "notReady":
      return `Not ready: ${agent.reason}`;
    case "onCall":
      return "On call";
    case "wrapUp":
      return "Wrap-up";
  }
}

export function stateTone(agent: AgentState): Tone {
  switch (agent.state) {
    case "available":
      return "ok";
    case "onCall":
    case "wrapUp":
      return "info";
    case "notReady":
      return "warn";
    case "offline":
      return "bad";
  }
}

/** One entry of the state menu; its value names the choice (see `choiceOf`). */
export type StateOption = { value: string; label: string };

/** The states an agent may choose: Available, each Not ready reason of the policy, Offline. */
export function stateOptions(policy: PolicyView): StateOption[] {
  return [
    { value: "available", label: "Available" },
    ...policy.notReadyReasons.map((r) => ({ value: `notReady:${r}`, label: `Not ready: ${r}` })),
    { value: "offline", label: "Offline" },
  ];
}

/** The menu value for the agent's state; on call and wrap-up have none (they are not chosen). */
export function stateValue(agent: AgentState): string {
  switch (agent.state) {
    case "available":
    case "offline":
      return agent.state;
    case "notReady":
      return `notReady:${agent.reason}`;
    default:
      return "";
  }
}

export function choiceOf(value: string): Choice | null {
  if (value === "available" || value === "offline") return { state: value };
  if (value.startsWith("notReady:")) return { state: "notReady", reason: value.slice("notReady:".length) };
  return null;
}

/** "0:23 left" in a timed wrap-up, or "" when it lasts until the agent leaves it. */
export function wrapUpLeft(agent: AgentState, nowMs: number): string {
  if (agent.state !== "wrapUp" || agent.endsAtMs === null) return "";
  return `${callTimer(nowMs, agent.endsAtMs)} left`;
}

/** What an IPC failure says: the engine's message, whatever shape it came in. */
export function errorText(e: unknown): string {
  if (typeof e === "object" && e !== null && "message" in e && typeof e.message === "string") return e.message;
  return String(e);
}

/** A past call in the customer panel: "3 Dec, 14:05 · inbound · 4:12 · Resolved". */
export function interactionLine(i: Interaction, locale?: string): string {
  const when = new Date(i.atMs).toLocaleString(locale, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  const parts = [when, i.direction];
  if (i.durationSecs !== null) parts.push(callTimer(0, i.durationSecs * 1000));
  else parts.push("not answered");
  if (i.disposition) parts.push(i.disposition);
  return parts.join(" · ");
}

/** The party of a call for the after-call screen and history: name, then number. */
export function partyLine(call: Pick<CallView, "displayName" | "remote" | "phone">): string {
  const name = call.displayName?.trim();
  const number = call.phone ?? /^sips?:([^@;]+)@/.exec(call.remote)?.[1] ?? call.remote;
  return name ? `${name} (${number})` : number;
}

/** The keys of a dialpad, in its order. */
export const DIALPAD_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"] as const;

/**
 * What the agent typed, as something to dial: a number (digits with an optional leading +, the
 * usual separators dropped, * and # kept) or a sip:/sips:/tel: URI; null when it is neither.
 */
export function dialTarget(typed: string): string | null {
  const t = typed.trim();
  if (/^(sips?|tel):\S+$/i.test(t)) return t;
  const compact = t.replace(/[\s().-]/g, "");
  return /^\+?[0-9*#]{1,32}$/.test(compact) ? compact : null;
}

/** A history row's party: its name, number or SIP user. */
export function historyParty(e: HistoryEntry): string {
  return partyLine({ displayName: e.displayName, remote: e.remote, phone: e.phone });
}

/** How the call went, in a word or a duration: "4:12", "Missed", "Not answered". */
export function historyOutcome(e: HistoryEntry): string {
  if (e.answeredMs !== null && e.endedMs !== null) return callTimer(e.answeredMs, e.endedMs);
  if (e.endedMs === null) return "In progress";
  return e.direction === "inbound" ? "Missed" : "Not answered";
}

/** "3 Dec, 14:05". */
export function historyWhen(e: HistoryEntry, locale?: string): string {
  return new Date(e.startedMs).toLocaleString(locale, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

/** MOS to one decimal, or "—". */
export function mosLabel(mos: number | null): string {
  return mos === null ? "—" : mos.toFixed(1);
}

/** The start of a long text, cut at a word where one is near, with an ellipsis. */
export function excerpt(text: string, max = 140): string {
  const t = text.trim();
  if (t.length <= max) return t;
  const cut = t.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${space > max * 0.6 ? cut.slice(0, space) : cut}…`;
}
