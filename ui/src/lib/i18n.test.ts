import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pickLocale, setLocale, t } from "./i18n";
import zhHans from "./locales/zh-Hans";
import zhHant from "./locales/zh-Hant";

afterEach(() => setLocale("en"));

describe("language", () => {
  it("is picked from the system's or the settings' tags", () => {
    expect(pickLocale(["zh-CN"])).toBe("zh-Hans");
    expect(pickLocale(["zh_SG"])).toBe("zh-Hans");
    expect(pickLocale(["zh-Hans-CN"])).toBe("zh-Hans");
    expect(pickLocale(["zh-TW"])).toBe("zh-Hant");
    expect(pickLocale(["zh-HK"])).toBe("zh-Hant");
    expect(pickLocale(["zh-Hant"])).toBe("zh-Hant");
    expect(pickLocale(["fr-FR", "zh-TW", "en"])).toBe("zh-Hant");
    expect(pickLocale(["en-GB", "zh-CN"])).toBe("en");
    expect(pickLocale(["fr-FR"])).toBe("en");
    expect(pickLocale([])).toBe("en");
  });

  it("translates and fills holes, and falls back to English", () => {
    expect(t("Not ready: {reason}", { reason: "Break" })).toBe("Not ready: Break");
    setLocale("zh-Hans");
    expect(t("Not ready: {reason}", { reason: "午餐" })).toBe("未就绪：午餐");
    setLocale("zh-Hant");
    expect(t("Hang up")).toBe("掛斷");
    expect(t("A string nobody wrote down")).toBe("A string nobody wrote down");
  });

  it("has every string the UI uses in both Chinese scripts, with the same holes", () => {
    const src = join(__dirname, "..");
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(svelte|ts)$/.test(entry.name) && !entry.name.endsWith(".test.ts")) files.push(path);
      }
    };
    walk(src);
    const used = new Set<string>();
    for (const file of files) {
      for (const m of readFileSync(file, "utf8").matchAll(/\bt\(\s*"((?:[^"\\]|\\.)*)"/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(80);
    const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of used) {
      for (const [name, dict] of [["zh-Hans", zhHans], ["zh-Hant", zhHant]] as const) {
        expect(dict[key], `${name} lacks ${JSON.stringify(key)}`).toBeTruthy();
        expect(holes(dict[key]), `${name} ${key}`).toEqual(holes(key));
      }
    }
    const unused = Object.keys(zhHans).filter((k) => !used.has(k));
    expect(unused, "translations for strings no longer used").toEqual([]);
  });
});
