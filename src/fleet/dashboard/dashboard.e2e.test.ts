/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against a fleet
 * started through the CLI: the page loads with no console error and shows the group's instances
 * InService; a successful boot's timeline lists every stage; `git-down` and a scale-out, both
 * asked for through the page's controls, show the failed boot with its stage and cause, kept
 * after the instance is replaced; a cross-site POST without the fleet's key is refused. Each
 * state's screenshot goes to MUSTER_SCREENSHOT_DIR (docs/dashboard to refresh the docs' images),
 * else to a temporary directory.
 */
import { existsSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { cleanupTmp, muster, tmpDir } from "../../test-support/tmp.ts";
import type { FleetStatus } from "../control/controller.ts";
import { testFleetYaml, until } from "../control/fleet-testing.ts";

const CHROMIUM = "/usr/bin/chromium";
const shots = process.env.MUSTER_SCREENSHOT_DIR ?? tmpDir("muster-dashboard-shots-");
const dir = tmpDir("muster-dashboard-");
const stateDir = path.join(dir, "state");
const file = path.join(dir, "fleet.yaml");
writeFileSync(file, YAML.stringify({ ...testFleetYaml(57), stateDir: "state" }));

let browser: Browser;
let page: Page;
let dashboard: string;
const consoleErrors: string[] = [];

async function status(): Promise<FleetStatus> {
  return JSON.parse(
    (await muster(["fleet", "status", "--json", "--state-dir", stateDir])).stdout,
  ) as FleetStatus;
}

/** The text of a locator once it matches `re` (what the browser renders, polled). */
async function untilText(what: string, loc: Locator, re: RegExp, timeoutMs = 60_000): Promise<string> {
  return until(
    what,
    async () => {
      const t = (await loc.count()) > 0 ? await shown(loc.first()) : "";
      return re.test(t) && t;
    },
    timeoutMs,
  );
}

/** The text as the browser renders it (what a reader sees), not the DOM's text. */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is tested
const shown = (l: Locator) => l.innerText();

/** A screenshot of one part of the page, with the heading and axis above it (the page redraws
 * every second: a clip of the page, not a screenshot of an element that is replaced meanwhile) */
async function clipShot(selector: string, name: string): Promise<void> {
  const box = (await page.locator(selector).boundingBox())!;
  await page.screenshot({
    path: path.join(shots, name),
    fullPage: true,
    clip: { x: 0, y: box.y - 70, width: 1280, height: box.height + 80 },
  });
}

const row = (id: string) => page.locator(`#instances tbody tr[data-instance="${id}"]`);
const cell = (id: string, column: number) => row(id).locator("td").nth(column);

const HAS_CHROMIUM = existsSync(CHROMIUM);

// Debian's chromium is the browser (never a downloaded one): `.ci/run` installs it
describe.skipIf(!HAS_CHROMIUM)(
  `the fleet dashboard in a browser${HAS_CHROMIUM ? "" : " (skipped: no /usr/bin/chromium on this machine)"}`,
  () => {
    beforeAll(async () => {
      const up = await muster(["fleet", "up", "--config", file, "--wait", "--timeout", "90"], {
        timeoutMs: 120_000,
      });
      expect(up.stderr).toBe("");
      expect(up.code).toBe(0);
      dashboard = /dashboard (http:\/\/127\.0\.0\.1:\d+\/#key=\S+)/.exec(up.stdout)?.[1] ?? "";
      expect(dashboard).not.toBe("");
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
      });
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      });
      page.on("pageerror", (e) => consoleErrors.push(String(e)));
    }, 150_000);

    afterAll(async () => {
      await browser?.close();
      await muster(["fleet", "down", "--state-dir", stateDir], { timeoutMs: 120_000 });
      cleanupTmp();
    }, 150_000);

    it("is the URL `fleet status --json` carries, and shows the group's instances InService", async () => {
      const st = await status();
      expect(st.dashboard?.url).toBe(dashboard);
      await page.goto(dashboard);
      await untilText("the stream to connect", page.locator("#connection"), /^live$/);
      for (const id of ["i-00000000000000001", "i-00000000000000002"]) {
        await untilText(`${id} InService`, cell(id, 0), /^InService/);
        expect(await shown(cell(id, 1))).toBe("healthy");
        await untilText(`${id} on the group's revision`, cell(id, 2), /^[0-9a-f]{7} \(current\)$/);
      }
      const facts = await page.getByRole("definition").allInnerTexts();
      const terms = await page.getByRole("term").allInnerTexts();
      expect(facts[terms.indexOf("Desired")]).toBe("2");
      expect(facts[terms.indexOf("InService")]).toBe("2");
      expect(await page.locator("#chart canvas").count()).toBeGreaterThan(0);
      await page.screenshot({ path: path.join(shots, "in-service.png") });
    });

    it("lists every stage of a successful boot on its timeline", async () => {
      const t = page.locator('#timelines article[data-instance="i-00000000000000001"]');
      await untilText("the first boot's timeline", t.locator("h3"), /done in/);
      const stages = await t.locator("li .stage").allInnerTexts();
      for (const s of ["identify", "fetch", "deps", "converge", "checks", "gate", "lifecycle"])
        expect(stages).toContain(s);
      expect(await t.locator("li.failed").count()).toBe(0);
      await clipShot("#timelines", "timeline.png");
    });

    it("refuses a cross-site POST without the fleet's key, and one from another origin with it", async () => {
      // a page on another origin of this machine submits a form to the action (no header possible)
      const port = new URL(dashboard).port;
      const other: Server = createServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/html" });
        res.end(
          `<form id="f" method="POST" action="http://127.0.0.1:${port}/api/action/scale" enctype="text/plain"><input name='{"desired":6,"x":"' value='"}'></form>`,
        );
      });
      await new Promise<void>((r) => other.listen(0, "127.0.0.1", r));
      const attacker = await browser.newPage();
      try {
        await attacker.goto(`http://127.0.0.1:${(other.address() as AddressInfo).port}/`);
        const [answer] = await Promise.all([
          attacker.waitForNavigation(),
          attacker.evaluate(() => (document.getElementById("f") as HTMLFormElement).submit()),
        ]);
        expect(answer?.status()).toBe(403);
        expect(await shown(attacker.locator("body"))).toContain("not this dashboard");
      } finally {
        await attacker.close();
        other.close();
      }
      const key = new URL(dashboard).hash.replace("#key=", "");
      const action = `http://127.0.0.1:${port}/api/action/scale`;
      const post = (headers: Record<string, string>) =>
        fetch(action, { method: "POST", headers, body: JSON.stringify({ desired: 6 }) });
      expect((await post({ origin: `http://127.0.0.1:${port}` })).status).toBe(403);
      expect((await post({ origin: "http://127.0.0.1:1", "x-muster-key": key })).status).toBe(403);
      expect((await fetch(`${action}?key=${key}`)).status).toBe(405);
      expect((await status()).group.desired).toBe(2);
    });

    it("shows a failed boot with its stage, cause and log, kept after the instance is replaced", async () => {
      // both through the page's controls, each confirmed in its dialog
      await page.getByLabel("Fault").selectOption("git-down");
      await page.getByRole("button", { name: "Apply fault..." }).click();
      await untilText("the confirm dialog", page.locator("#confirm-text"), /git-down/);
      expect(await page.getByRole("dialog").isVisible()).toBe(true);
      await page.getByRole("button", { name: "Confirm" }).click();
      await untilText("the fault applied", page.locator("#action-result"), /git server down/);
      await page.getByLabel("Desired capacity").fill("3");
      await page.getByRole("button", { name: "Scale..." }).click();
      await untilText("the confirm dialog", page.locator("#confirm-text"), /from 2 to 3/);
      await page.getByRole("button", { name: "Confirm" }).click();
      await untilText("the scale applied", page.locator("#action-result"), /desired capacity 2 -> 3/);
      expect((await status()).group.desired).toBe(3);

      const id = "i-00000000000000003";
      const t = page.locator(`#timelines article[data-instance="${id}"]`);
      await untilText("the failed boot", t.locator(".cause"), /^FAILED at fetch: \S/, 90_000);
      // every attempt of the boot failed at its fetch
      const failed = await t.locator("li.failed .stage").allInnerTexts();
      expect(failed.length).toBeGreaterThan(0);
      expect(new Set(failed)).toEqual(new Set(["fetch"]));
      expect((await shown(t.locator("pre.log"))).length).toBeGreaterThan(0);
      expect(await shown(cell(id, 5))).toBe("FAILED at fetch");
      await clipShot("#timelines", "failed-boot.png");

      await untilText(`${id} terminated`, cell(id, 0), /^Terminated$/, 90_000);
      await until("a replacement launched", async () =>
        (await status()).instances.some((i) => i.id === "i-00000000000000004"),
      );
      expect(await row(id).getAttribute("class")).toContain("terminated");
      expect(await shown(cell(id, 6))).not.toBe("");
      // its timeline and cause stay
      expect(await shown(t.locator(".cause"))).toMatch(/^FAILED at fetch/);
      await page.getByLabel("Events of").selectOption(id);
      const kinds = await page.locator("#events tbody tr td:nth-child(2)").allInnerTexts();
      expect(kinds.length).toBeGreaterThan(0);
      expect(new Set(kinds)).toEqual(new Set([id]));
      await page.screenshot({ path: path.join(shots, "replaced.png") });
      expect(consoleErrors).toEqual([]);
    });
  },
);
