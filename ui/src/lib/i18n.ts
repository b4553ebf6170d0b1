// UI strings in English, Simplified Chinese and Traditional Chinese. Keys are the English text
// (what a reader of the code sees); `{name}` holes are filled from `params`. The language comes
// from the settings (`[ui] language`) or the system's, and changes re-render the whole window.
import zhHans from "./locales/zh-Hans";
import zhHant from "./locales/zh-Hant";

export type Locale = "en" | "zh-Hans" | "zh-Hant";

const dictionaries: Record<Locale, Record<string, string>> = { en: {}, "zh-Hans": zhHans, "zh-Hant": zhHant };

let current: Locale = "en";

/** The locale for a list of BCP 47 tags (navigator.languages, or the settings' choice). */
export function pickLocale(tags: readonly string[]): Locale {
  for (const raw of tags) {
    const tag = raw.toLowerCase().replace(/_/g, "-");
    if (tag === "en" || tag.startsWith("en-")) return "en";
    if (tag.startsWith("zh")) {
      const traditional = /-(hant|tw|hk|mo)(-|$)/.test(tag);
      return traditional ? "zh-Hant" : "zh-Hans";
    }
  }
  return "en";
}

export function setLocale(locale: Locale): void {
  current = locale;
}

export function locale(): Locale {
  return current;
}

/** The tag dates and numbers are formatted with. */
export function dateLocale(): string {
  return current === "en" ? "en" : current === "zh-Hans" ? "zh-CN" : "zh-TW";
}

/** `text` in the current language, with `{hole}`s filled. */
export function t(text: string, params: Record<string, string | number> = {}): string {
  const translated = dictionaries[current][text] ?? text;
  return translated.replace(/\{(\w+)\}/g, (hole, name: string) =>
    name in params ? String(params[name]) : hole,
  );
}
