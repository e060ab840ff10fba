import type { Browser as PlaywrightBrowser } from "playwright-core";
import puppeteer, { type Browser } from "puppeteer-core";

/**
 * Prefs for a headless Firefox publishing from its fake devices over loopback:
 * - fake camera/microphone, no permission prompt;
 * - a stored camera/microphone permission, without which Firefox gathers ICE only on the default-route address
 *   (none in a loopback-only namespace: no candidates at all);
 * - loopback candidates, real addresses instead of mDNS names.
 */
export const FIREFOX_PREFS: Record<string, unknown> = {
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  "permissions.default.camera": 1,
  "permissions.default.microphone": 1,
  "media.peerconnection.ice.loopback": true,
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  // Never reach out for updates, plugins (OpenH264) or telemetry.
  "media.gmp-manager.url": "",
  "media.gmp-gmpopenh264.enabled": false,
  "app.update.enabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "toolkit.telemetry.enabled": false,
  "network.captive-portal-service.enabled": false,
  "browser.safebrowsing.malware.enabled": false,
  "browser.safebrowsing.phishing.enabled": false,
};

export const FIREFOX_PATH = process.env.RECBOT_FIREFOX ?? "/usr/bin/firefox-esr";

/** Debian's firefox-esr, headless, driven over WebDriver BiDi (puppeteer-core never downloads a browser). */
export function launchFirefox(): Promise<Browser> {
  return puppeteer.launch({ browser: "firefox", executablePath: FIREFOX_PATH, headless: true, extraPrefsFirefox: FIREFOX_PREFS });
}

/**
 * The page helpers (openRecbotPage, pageCall) only use goto/addScriptTag/waitForFunction/evaluate/on("console"),
 * which puppeteer's Page has with the same shapes as Playwright's: let them take a puppeteer browser.
 */
export function asPageHost(browser: Browser): PlaywrightBrowser {
  return browser as unknown as PlaywrightBrowser;
}
