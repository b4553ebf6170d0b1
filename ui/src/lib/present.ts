// How engine state reads to an agent. Pure functions, unit-tested; components only render.
import type { AudioDevice, CallView, DeviceList, Direction, RegistrationView } from "../ipc/bindings";

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
