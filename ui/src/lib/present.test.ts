import { describe, expect, it } from "vitest";
import {
  callTimer,
  callerName,
  choiceOf,
  dialTarget,
  excerpt,
  expertsBySkill,
  presenceBadge,
  consultNotice,
  settingLabel,
  settingValue,
  updateText,
  qualityBadge,
  historyOutcome,
  historyParty,
  mosLabel,
  errorText,
  interactionLine,
  partyLine,
  stateLabel,
  stateOptions,
  stateValue,
  wrapUpLeft,
  deviceName,
  deviceNotice,
  deviceOptions,
  phaseLabel,
  registrationBadge,
} from "./present";
import type { CallView } from "../ipc/bindings";

const call = (over: Partial<CallView>): CallView => ({
  id: "c1",
  direction: "inbound",
  phase: "ringing",
  remote: "sip:4471@127.0.0.1:5060",
  displayName: null,
  connectedAtMs: null,
  ...over,
});

describe("callTimer", () => {
  it("counts minutes and seconds, then hours", () => {
    expect(callTimer(null, 5000)).toBe("");
    expect(callTimer(0, 7_900)).toBe("0:07");
    expect(callTimer(0, 724_000)).toBe("12:04");
    expect(callTimer(0, 3_723_000)).toBe("1:02:03");
  });
  it("never runs backwards when clocks disagree", () => {
    expect(callTimer(10_000, 9_000)).toBe("0:00");
  });
});

describe("registrationBadge", () => {
  it("shows the failure status and the retry", () => {
    const b = registrationBadge({ state: "failed", status: 401, reason: "credentials refused by the registrar", retryIn: 4 });
    expect(b).toEqual({ label: "Not registered (401)", tone: "bad", detail: "credentials refused by the registrar; retrying in 4 s" });
  });
  it("names practice mode and registration", () => {
    expect(registrationBadge({ state: "practice" }).label).toBe("Practice mode");
    expect(registrationBadge({ state: "registered", expires: 600 }).tone).toBe("ok");
  });
});

describe("callerName", () => {
  it("prefers the display name, falls back to the SIP user", () => {
    expect(callerName(call({ displayName: "Dana Whitfield" }))).toBe("Dana Whitfield");
    expect(callerName(call({ displayName: "  " }))).toBe("4471");
    expect(callerName(call({ remote: "tel:+15551234" }))).toBe("tel:+15551234");
  });
  it("keeps hostile names verbatim for text rendering", () => {
    const hostile = "<img src=x onerror=alert(1)>";
    expect(callerName(call({ displayName: hostile }))).toBe(hostile);
  });
});

describe("phaseLabel", () => {
  it("labels each phase", () => {
    expect(phaseLabel(call({ phase: "ringing" }))).toBe("Incoming call");
    expect(phaseLabel(call({ phase: "connected" }))).toBe("Connected");
  });
});

describe("deviceOptions", () => {
  const headset = { id: "usb_headset", name: "USB Headset", isDefault: false };
  const laptop = { id: "builtin", name: "Built-in Audio", isDefault: true };

  it("puts the system default first, naming what it is now", () => {
    const options = deviceOptions([laptop, headset], null);
    expect(options[0]).toEqual({ value: null, label: "System default (Built-in Audio)" });
    expect(options.slice(1).map((o) => o.value)).toEqual(["builtin", "usb_headset"]);
  });

  it("keeps a chosen device that is unplugged, marked as such", () => {
    const options = deviceOptions([laptop], "usb_headset");
    expect(options.at(-1)).toEqual({ value: "usb_headset", label: "usb_headset (not connected)" });
    expect(deviceOptions([laptop, headset], "usb_headset")).toHaveLength(3);
  });

  it("has a default entry even with no devices", () => {
    expect(deviceOptions([], null)).toEqual([{ value: null, label: "System default" }]);
  });
});

describe("deviceName", () => {
  it("names a listed device, and falls back to its id", () => {
    const devices = {
      microphones: [{ id: "mic1", name: "Headset Microphone", isDefault: true }],
      speakers: [{ id: "spk", name: "Built-in Audio", isDefault: true }],
    };
    expect(deviceName(devices, "output", "spk")).toBe("Built-in Audio");
    expect(deviceName(devices, "input", "spk")).toBe("spk");
    expect(deviceName(undefined, "input", "mic1")).toBe("mic1");
  });
});

describe("deviceNotice", () => {
  it("says what was lost and what plays instead, and when the choice is back", () => {
    expect(deviceNotice("output", "Built-in Audio", false)).toBe(
      "Speaker: your choice is not connected, using Built-in Audio",
    );
    expect(deviceNotice("input", "USB Headset", true)).toBe("Microphone: back on USB Headset");
  });
});

describe("agent state menu", () => {
  const policy = { notReadyReasons: ["Break", "Lunch: long"], dispositions: [], dispositionRequired: false };
  it("offers available, each policy reason, and offline", () => {
    expect(stateOptions(policy).map((o) => o.label)).toEqual([
      "Available",
      "Not ready: Break",
      "Not ready: Lunch: long",
      "Offline",
    ]);
  });
  it("turns every option back into the choice it names, reasons with colons too", () => {
    for (const option of stateOptions(policy)) {
      const choice = choiceOf(option.value);
      expect(choice).not.toBeNull();
      expect(stateValue(choice!)).toBe(option.value);
    }
    expect(choiceOf("notReady:Lunch: long")).toEqual({ state: "notReady", reason: "Lunch: long" });
    expect(choiceOf("onCall")).toBeNull();
    expect(stateValue({ state: "onCall" })).toBe("");
  });
  it("labels every state", () => {
    expect(stateLabel({ state: "notReady", reason: "Break" })).toBe("Not ready: Break");
    expect(stateLabel({ state: "wrapUp", endsAtMs: null })).toBe("Wrap-up");
  });
  it("counts a timed wrap-up down, and says nothing for an open one", () => {
    expect(wrapUpLeft({ state: "wrapUp", endsAtMs: 30_000 }, 7_000)).toBe("0:23 left");
    expect(wrapUpLeft({ state: "wrapUp", endsAtMs: 30_000 }, 31_000)).toBe("0:00 left");
    expect(wrapUpLeft({ state: "wrapUp", endsAtMs: null }, 7_000)).toBe("");
    expect(wrapUpLeft({ state: "available" }, 7_000)).toBe("");
  });
});

describe("errorText", () => {
  it("reads the engine's message from a command error, and anything else as text", () => {
    expect(errorText({ code: "engine", message: "a disposition is required" })).toBe("a disposition is required");
    expect(errorText("plain")).toBe("plain");
    expect(errorText({ message: 42 })).toBe("[object Object]");
  });
});

describe("after-call lines", () => {
  it("names the party by display name and number, or the number alone", () => {
    expect(partyLine({ displayName: "Sam", remote: "sip:4155550187@t", phone: "+14155550187" })).toBe(
      "Sam (+14155550187)",
    );
    expect(partyLine({ displayName: " ", remote: "sip:agent7@t", phone: null })).toBe("agent7");
  });
  it("sums up a past interaction", () => {
    const at = new Date(2026, 11, 3, 14, 5).getTime();
    const line = interactionLine({ atMs: at, direction: "inbound", durationSecs: 252, disposition: "Resolved", summary: "" }, "en-GB");
    expect(line).toBe("3 Dec, 14:05 · inbound · 4:12 · Resolved");
    const missed = interactionLine({ atMs: at, direction: "inbound", durationSecs: null, disposition: null, summary: "" }, "en-GB");
    expect(missed.endsWith("inbound · not answered")).toBe(true);
  });
});

describe("dialpad", () => {
  it("dials numbers with their separators dropped, keys and URIs as typed", () => {
    expect(dialTarget(" +1 (415) 555-0142 ")).toBe("+14155550142");
    expect(dialTarget("2001")).toBe("2001");
    expect(dialTarget("*72#")).toBe("*72#");
    expect(dialTarget("sip:expert@127.0.0.1")).toBe("sip:expert@127.0.0.1");
    expect(dialTarget("tel:+14155550142")).toBe("tel:+14155550142");
  });
  it("refuses what is neither a number nor a URI", () => {
    for (const bad of ["", "   ", "call mom", "+", "12a4", "javascript:alert(1)", "sip:", "1+2"]) {
      expect(dialTarget(bad)).toBeNull();
    }
  });
});

describe("history rows", () => {
  const entry = {
    id: "c1",
    direction: "inbound",
    remote: "sip:4155550187@trunk",
    displayName: "Sam",
    phone: "+14155550187",
    startedMs: 0,
    answeredMs: 2_000,
    endedMs: 254_000,
    endReason: "remoteHangup",
    disposition: "Resolved",
    notes: "",
    mos: 4.23,
  };
  it("says how long a call lasted, or that it was missed", () => {
    expect(historyOutcome(entry)).toBe("4:12");
    expect(historyOutcome({ ...entry, answeredMs: null })).toBe("Missed");
    expect(historyOutcome({ ...entry, answeredMs: null, direction: "outbound" })).toBe("Not answered");
    expect(historyOutcome({ ...entry, endedMs: null })).toBe("In progress");
  });
  it("names the party and rounds the MOS", () => {
    expect(historyParty(entry)).toBe("Sam (+14155550187)");
    expect(mosLabel(entry.mos)).toBe("4.2");
    expect(mosLabel(null)).toBe("—");
  });
});

describe("excerpt", () => {
  it("keeps short text and cuts long text at a word", () => {
    expect(excerpt("  short  ")).toBe("short");
    expect(excerpt("one two three four", 10)).toBe("one two…");
    expect(excerpt("abcdefghijklmnop", 10)).toBe("abcdefghij…");
  });
});

describe("escalation panel", () => {
  const expert = (name: string, skills: string[], availability = "Available", activity = "Available") => ({
    id: name,
    name,
    title: "",
    skills,
    target: "sip:x@y",
    presence: { availability, activity, asOfMs: 1_000 },
  });
  it("words presence case-insensitively, keeps unknown values neutral, and gives the age of a stale one", () => {
    expect(presenceBadge({ availability: "busy", activity: "InACall", asOfMs: 1_000, stale: false }, 2_000)).toEqual({
      label: "Busy · In a call",
      tone: "bad",
      stale: "",
    });
    const odd = presenceBadge({ availability: "OutOfOrbit", activity: "", asOfMs: 1_000, stale: false }, 2_000);
    expect(odd).toEqual({ label: "Out of orbit", tone: "neutral", stale: "" });
    expect(presenceBadge({ availability: "PresenceUnknown", activity: "PresenceUnknown", asOfMs: null, stale: false }, 0)).toEqual({
      label: "Presence unknown",
      tone: "neutral",
      stale: "never reported",
    });
    expect(presenceBadge({ availability: "Available", activity: "Available", asOfMs: 0, stale: false }, 300_000).stale).toBe(
      "",
    );
    expect(presenceBadge({ availability: "Available", activity: "Available", asOfMs: 0, stale: true }, 300_000).stale).toBe(
      "as of 5 min ago",
    );
  });
  it("names settings and words their values", () => {
    expect(settingLabel("trunk.srtp")).toBe("Call encryption (SRTP)");
    expect(settingLabel("some.new_key")).toBe("some.new_key");
    expect(settingValue("true")).toBe("Yes");
    expect(settingValue("")).toBe("Not set");
    expect(settingValue("required")).toBe("required");
    expect(settingLabel("media.codecs")).toBe("Codecs");
    expect(settingLabel("updates.endpoint")).toBe("Update source");
  });
  it("says where the app stands with updates", () => {
    expect(updateText({ state: "off" })).toBe("Updates are turned off by your organization.");
    expect(updateText({ state: "unconfigured" })).toBe("No update source is configured.");
    expect(updateText({ state: "available", version: "0.2.0", notes: null })).toBe("Switchboard 0.2.0 is available.");
    expect(updateText({ state: "installed", version: "0.2.0" })).toBe(
      "Switchboard 0.2.0 is installed: restart Switchboard to use it.",
    );
    expect(updateText({ state: "failed", message: "the update check failed: timeout" })).toBe(
      "the update check failed: timeout",
    );
  });
  it("tells how a call to an expert went", () => {
    expect(consultNotice("Priya", "busy")).toBe("Priya is busy: back with the caller");
    expect(consultNotice("Priya", "noAnswer")).toBe("Priya did not answer: back with the caller");
    expect(consultNotice("+14155550100", "failed")).toBe("The call to +14155550100 failed: back with the caller");
  });
  it("shows a presence that cannot be read now neutrally, with its age, never as free", () => {
    const gone = presenceBadge({ availability: "Available", activity: "Available", asOfMs: 0, stale: true }, 30_000);
    expect(gone).toEqual({ label: "Available", tone: "neutral", stale: "last known, under a minute ago" });
    const older = presenceBadge({ availability: "Available", activity: "Available", asOfMs: 0, stale: true }, 90_000);
    expect(older.stale).toBe("as of 1 min ago");
    expect(presenceBadge({ availability: "Available", activity: "Available", asOfMs: 0, stale: false }, 30_000).tone).toBe("ok");
  });
  it("groups experts by each of their skills and searches name, title and skill", () => {
    const list = [expert("Priya", ["Billing", "Refunds"]), expert("Marco", ["Networking"]), expert("Chen", ["Billing"])];
    const groups = expertsBySkill(list, "");
    expect(groups.map((g) => g.skill)).toEqual(["Billing", "Networking", "Refunds"]);
    expect(groups[0].experts.map((e) => e.name)).toEqual(["Chen", "Priya"]);
    expect(expertsBySkill(list, "refu").map((g) => g.skill)).toEqual(["Billing", "Refunds"]);
    expect(expertsBySkill(list, "nobody")).toEqual([]);
  });
  it("rates call quality by MOS", () => {
    const q = { mos: 4.3, lossFraction: 0.001, jitterMs: 3.2, rttMs: 41.6, encrypted: true } as never;
    expect(qualityBadge(q)).toEqual({
      label: "Good 4.3",
      tone: "ok",
      detail: "MOS 4.3: loss 0.1 %, jitter 3 ms, round trip 42 ms, encrypted",
    });
    expect(qualityBadge({ mos: 2.4, lossFraction: 0.2, jitterMs: 80, rttMs: null, encrypted: false } as never)?.label).toBe(
      "Bad 2.4",
    );
    expect(qualityBadge(null)).toBeNull();
  });
});
