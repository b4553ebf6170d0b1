import { describe, expect, it } from "vitest";
import { callTimer, callerName, phaseLabel, registrationBadge } from "./present";
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
