// How engine state reads to an agent. Pure functions, unit-tested; components only render.
import { dateLocale, t } from "./i18n";
import type {
  AgentState,
  AudioDevice,
  CallView,
  Choice,
  ConsultOutcome,
  DeviceList,
  Direction,
  Expert,
  MediaStats,
  HistoryEntry,
  Interaction,
  PolicyView,
  RegistrationView,
  UpdateView,
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
      return { label: t("Connecting…"), tone: "info", detail: t("Registering with the trunk") };
    case "registered":
      return { label: t("Registered"), tone: "ok", detail: t("Registration valid for {secs} s", { secs: r.expires }) };
    case "practice":
      return {
        label: t("Practice mode"),
        tone: "info",
        detail: t("No trunk configured: a practice customer will call you"),
      };
    case "failed": {
      const code = r.status === null ? "" : ` (${r.status})`;
      return {
        label: t("Not registered{code}", { code }),
        tone: "bad",
        detail: t("{reason}; retrying in {secs} s", { reason: r.reason, secs: r.retryIn }),
      };
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
      return t("Incoming call");
    case "dialing":
      return t("Calling…");
    case "connected":
      return t("Connected");
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
    { value: null, label: current ? t("System default ({name})", { name: current.name }) : t("System default") },
    ...devices.map((d) => ({ value: d.id, label: d.name })),
  ];
  if (chosen !== null && !devices.some((d) => d.id === chosen)) {
    options.push({ value: chosen, label: t("{device} (not connected)", { device: chosen }) });
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
  const what = direction === "input" ? t("Microphone") : t("Speaker");
  return chosen
    ? t("{what}: back on {device}", { what, device })
    : t("{what}: your choice is not connected, using {device}", { what, device });
}

/** The agent's state as the menu and the badge say it. */
export function stateLabel(agent: AgentState): string {
  switch (agent.state) {
    case "offline":
      return t("Offline");
    case "available":
      return t("Available");
    case "notReady":
      return t("Not ready: {reason}", { reason: agent.reason });
    case "onCall":
      return t("On call");
    case "wrapUp":
      return t("Wrap-up");
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
    { value: "available", label: t("Available") },
    ...policy.notReadyReasons.map((r) => ({ value: `notReady:${r}`, label: t("Not ready: {reason}", { reason: r }) })),
    { value: "offline", label: t("Offline") },
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
  return t("{time} left", { time: callTimer(nowMs, agent.endsAtMs) });
}

/** What an IPC failure says: the engine's message, whatever shape it came in. */
export function errorText(e: unknown): string {
  if (typeof e === "object" && e !== null && "message" in e && typeof e.message === "string") return e.message;
  return String(e);
}

/** A past call in the customer panel: "3 Dec, 14:05 · inbound · 4:12 · Resolved". */
export function interactionLine(i: Interaction, locale?: string): string {
  const when = new Date(i.atMs).toLocaleString(locale ?? dateLocale(), { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  const parts = [when, directionLabel(i.direction)];
  if (i.durationSecs !== null) parts.push(callTimer(0, i.durationSecs * 1000));
  else parts.push(t("not answered"));
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
  if (e.endedMs === null) return t("In progress");
  return e.direction === "inbound" ? t("Missed") : t("Not answered");
}

/** "3 Dec, 14:05". */
export function historyWhen(e: HistoryEntry, locale?: string): string {
  return new Date(e.startedMs).toLocaleString(locale ?? dateLocale(), { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

/** What the agent is told when a call to an expert did not get through. */
export function consultNotice(who: string, outcome: ConsultOutcome): string {
  const words: Record<ConsultOutcome, string> = {
    answered: t("{who} took the call", { who }),
    busy: t("{who} is busy: back with the caller", { who }),
    noAnswer: t("{who} did not answer: back with the caller", { who }),
    cancelled: t("Back with the caller"),
    failed: t("The call to {who} failed: back with the caller", { who }),
  };
  return words[outcome];
}

/** A setting's name in the UI's language; one not listed is shown by its key. */
export function settingLabel(key: string): string {
  const labels: Record<string, string> = {
    "trunk.registrar": t("Trunk"),
    "trunk.alternates": t("Alternate trunks"),
    "trunk.user": t("Agent line"),
    "trunk.srtp": t("Call encryption (SRTP)"),
    "trunk.tls_roots": t("Trunk certificate authorities"),
    "trunk.password": t("Trunk password"),
    "agent.not_ready_reasons": t("Not-ready reasons"),
    "agent.wrap_up_secs": t("Wrap-up (seconds)"),
    "agent.disposition_required": t("Disposition required"),
    "agent.dispositions": t("Dispositions"),
    "agent.call_waiting": t("Call waiting"),
    "customers.country_code": t("Country code"),
    "customers.crm": t("CRM connector"),
    "experts": t("Experts"),
    "teams.tenant": t("Microsoft 365 tenant"),
    "teams.client_id": t("App registration (client id)"),
    "teams.graph_base": t("Microsoft Graph"),
    "ui.language": t("Language"),
    "ui.answer_key": t("Answer hotkey"),
    "ui.hangup_key": t("Hang-up hotkey"),
    "media.codecs": t("Codecs"),
    "logging.level": t("Log level"),
    "updates.allowed": t("Updates allowed"),
    "updates.endpoint": t("Update source"),
  };
  return labels[key] ?? key;
}

/** A setting's value in words: yes or no for switches, "not set" for nothing. */
export function settingValue(value: string): string {
  if (value === "true") return t("Yes");
  if (value === "false") return t("No");
  return value === "" ? t("Not set") : value;
}

/** "14:05": the time of day of a wall-clock instant. */
export function clockTime(ms: number, locale?: string): string {
  return new Date(ms).toLocaleTimeString(locale ?? dateLocale(), { hour: "2-digit", minute: "2-digit" });
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

/** Presence as the panel shows it: Graph's availability in words, a tone, and whether it is stale. */
export function presenceBadge(
  p: Expert["presence"],
  nowMs: number,
): { label: string; tone: Tone | "neutral"; stale: string } {
  const words: Record<string, [string, Tone]> = {
    available: [t("Available"), "ok"],
    availableidle: [t("Available (idle)"), "ok"],
    busy: [t("Busy"), "bad"],
    busyidle: [t("Busy (idle)"), "bad"],
    donotdisturb: [t("Do not disturb"), "bad"],
    berightback: [t("Be right back"), "warn"],
    away: [t("Away"), "warn"],
    offline: [t("Offline"), "info"],
  };
  const known = words[p.availability.toLowerCase()];
  const activity = p.activity && p.activity.toLowerCase() !== p.availability.toLowerCase() ? p.activity : "";
  const label = known ? known[0] + (activity ? ` · ${activityLabel(activity)}` : "") : p.availability === "PresenceUnknown" ? t("Presence unknown") : splitWords(p.availability);
  // Stale: presence cannot be read now. What was last read is shown with its age, never in
  // the colour that says "free". Fresh presence needs no age: it is read again every round,
  // and an unchanged round does not reach the window.
  let stale = "";
  const mins = p.asOfMs === null ? 0 : Math.floor((nowMs - p.asOfMs) / 60_000);
  if (p.asOfMs === null) stale = t("never reported");
  else if (p.stale && mins < 1) stale = t("last known, under a minute ago");
  else if (p.stale) stale = t("as of {mins} min ago", { mins });
  return { label, tone: known && !p.stale ? known[1] : "neutral", stale };
}

/** Graph's activity values in the UI's language; one not listed is spelled out in words. */
function activityLabel(activity: string): string {
  const known: Record<string, string> = {
    inacall: t("In a call"),
    inaconferencecall: t("In a conference call"),
    inameeting: t("In a meeting"),
    presenting: t("Presenting"),
    outofoffice: t("Out of office"),
    offwork: t("Off work"),
    urgentinterruptionsonly: t("Urgent interruptions only"),
    away: t("Away"),
    berightback: t("Be right back"),
    busy: t("Busy"),
    donotdisturb: t("Do not disturb"),
    available: t("Available"),
    offline: t("Offline"),
    inactive: t("Inactive"),
  };
  return known[activity.toLowerCase()] ?? splitWords(activity);
}

/** "InACall" → "In a call". */
function splitWords(word: string): string {
  const spaced = word.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/([A-Z])([A-Z][a-z])/g, "$1 $2");
  return spaced.charAt(0) + spaced.slice(1).toLowerCase();
}

/** The directory by skill, each group's experts by name; a search narrows it by name, title or skill. */
export function expertsBySkill(experts: Expert[], search: string): { skill: string; experts: Expert[] }[] {
  const q = search.trim().toLowerCase();
  const matches = (e: Expert) =>
    !q || [e.name, e.title, ...e.skills].some((t) => t.toLowerCase().includes(q));
  const groups = new Map<string, Expert[]>();
  for (const e of experts.filter(matches)) {
    for (const skill of e.skills.length ? e.skills : [t("Other")]) {
      groups.set(skill, [...(groups.get(skill) ?? []), e]);
    }
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([skill, list]) => ({ skill, experts: list.sort((a, b) => a.name.localeCompare(b.name)) }));
}

/** The live quality indicator: the E-model MOS in words, with what drags it down. */
export function qualityBadge(q: MediaStats | null): { label: string; tone: Tone; detail: string } | null {
  if (!q) return null;
  const tone: Tone = q.mos >= 4 ? "ok" : q.mos >= 3.6 ? "info" : q.mos >= 3.1 ? "warn" : "bad";
  const word = q.mos >= 4 ? t("Good") : q.mos >= 3.6 ? t("Fair") : q.mos >= 3.1 ? t("Poor") : t("Bad");
  const rtt = q.rttMs === null ? "" : t(", round trip {rtt} ms", { rtt: Math.round(q.rttMs) });
  const measured = t("MOS {mos}: loss {loss} %, jitter {jitter} ms", {
    mos: q.mos.toFixed(1),
    loss: (q.lossFraction * 100).toFixed(1),
    jitter: Math.round(q.jitterMs),
  });
  const detail = measured + rtt + (q.encrypted ? t(", encrypted") : t(", not encrypted"));
  return { label: `${word} ${q.mos.toFixed(1)}`, tone, detail };
}

/** The ways to escalate a call to an expert. */
export type Escalation = "transfer" | "consult" | "conference";

/** "inbound" / "outbound" in the UI's language. */
export function directionLabel(direction: string): string {
  return direction === "inbound" ? t("inbound") : t("outbound");
}

/** Where the app stands with updates, in words. */
export function updateText(u: UpdateView): string {
  switch (u.state) {
    case "off":
      return t("Updates are turned off by your organization.");
    case "unconfigured":
      return t("No update source is configured.");
    case "idle":
      return t("Not checked yet.");
    case "checking":
      return t("Checking for updates…");
    case "upToDate":
      return t("Switchboard is up to date.");
    case "available":
      return t("Switchboard {version} is available.", { version: u.version });
    case "installing":
      return t("Installing Switchboard {version}…", { version: u.version });
    case "installed":
      return t("Switchboard {version} is installed: restart Switchboard to use it.", { version: u.version });
    case "failed":
      return u.message;
  }
}
