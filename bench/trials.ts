/**
 * `npm run trials`: the robustness figures re-measured on the current code, each a one-line figure
 * on stdout and all of them in bench/results/trials.md:
 *
 *   1. bad inputs across the commands, each under a temporary directory of its own: how many are
 *      clean (exit 2, one stderr line per problem naming it, no stack trace, nothing written);
 *   2. `muster boot` killed with SIGKILL (its whole process group, as systemd stops a unit) at
 *      seeded random moments: how many leave a gate that reads open, and whether the next boot opens;
 *   3. a local fleet under steady traffic while it scales out and in, boots fail (git down) and
 *      instances are killed, with the builtin load balancer and with HAProxy: requests, errors,
 *      and requests to instances whose boot failed;
 *   and the secrets check (a credentialed repository URL: its token in no log, record or report)
 *   and the health endpoint's answer on stale and forged gate records.
 *
 *   npm run trials                      everything (10-20 minutes on a loaded machine)
 *   npm run trials -- --only bad,kills  some: bad, kills, churn, secrets, health
 *   TRIALS_SEED=<n>                     replay the kill moments
 *   TRIALS_KILLS=<n>                    kills wanted (default 40)
 *   TRIALS_CHURN_S=<s>                  seconds of traffic per load balancer (default 75)
 *
 * Never touches the real /etc, /var or /srv, nor the default fleet state directory: every run has
 * a root or --state-dir under a new temporary directory. Every process it starts is stopped.
 */
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import YAML from "yaml";
import type { BootRecord } from "../src/boot/state.ts";
import { revisionPusher, seededRandom } from "../src/boot/testing/crash-trials.ts";
import { type BootFixture, bootFixture, exampleBareRepos, GATE_FILE } from "../src/boot/testing/fixture.ts";
import { bareRepoFrom } from "../src/demo/example-repos.ts";
import { startTraffic } from "../src/fleet/balancing/traffic.ts";
import { FleetController, type InstanceStatus } from "../src/fleet/control/controller.ts";
import {
  inService,
  readAccessLog,
  shutdownLeftovers,
  stable,
  testFleetConfig,
  testFleetYaml,
  until,
} from "../src/fleet/control/fleet-testing.ts";
import { judgeGate } from "../src/gate/gate-state.ts";
import { healthAnswer } from "../src/gate/health-server.ts";
import { RootFs } from "../src/host/root-fs.ts";
import { BIN, cleanupTmp, EXAMPLES } from "../src/test-support/tmp.ts";
import {
  type BadInputResult,
  badInputFigure,
  badInputProblems,
  type CliRun,
  churnFigure,
  healthFigure,
  type KillTrial,
  killFigure,
  type Listing,
  listingChanges,
  type SecretsResult,
  secretsFigure,
  type TrialsReport,
  tallyChurn,
  tallyKills,
  trialsMarkdown,
} from "./trials-tally.ts";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const env = { ...process.env, NO_COLOR: "1", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };

/**
 * Run the built CLI in a process group of its own; the whole group gets SIGKILL after `timeoutMs`
 * or when `killAfterMs` passes (a kill trial).
 */
function runCli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; killAfterMs?: number } = {},
): Promise<CliRun & { ms: number; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? REPO,
      env: { ...env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let killed = false;
    let exited = false;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const killGroup = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
        return true;
      } catch {
        return false;
      }
    };
    const timer = setTimeout(() => {
      timedOut = killGroup();
    }, opts.timeoutMs ?? 30_000);
    const killTimer =
      opts.killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            // a boot that has exited is not killed, whatever it left in its group
            if (!exited) killed = killGroup();
          }, opts.killAfterMs);
    child.on("error", reject);
    child.on("exit", () => {
      exited = true;
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      // anything the process left behind in its group (git, npm) goes too
      killGroup();
      resolve({ code, stdout, stderr, timedOut, killed, ms: Date.now() - started });
    });
  });
}

/** Every entry under `dir`: path, kind, mode, size, mtime. */
function listing(dir: string): Listing {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(d, n);
      const st = lstatSync(p);
      const kind = st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : "f";
      out.push(`${path.relative(dir, p)} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.size} ${st.mtimeMs}`);
      if (kind === "d") walk(p);
    }
  };
  walk(dir);
  return out;
}

// ---------------------------------------------------------------------------------------------
// 1. bad inputs

interface TrialDir {
  dir: string;
  /** a root with a valid boot.json (a static role, no metadata) */
  root: string;
  /** a copy of the example config repository */
  repo: string;
  /** a fleet state directory (not made) */
  state: string;
}

interface BadCase {
  name: string;
  args: (t: TrialDir) => string[];
  setup?: (t: TrialDir) => void;
  problems?: number;
  mentions?: (t: TrialDir) => string[];
  cwd?: (t: TrialDir) => string;
  /** progress lines the command writes to stderr besides its problems */
  progress?: RegExp;
}

/** check reports its steps on stderr ("muster check: templates ..."), then the problems */
const CHECK_PROGRESS = /^muster check: (.* \.\.\.|.*: (done|stopped) \(.*\)|\d+ problems? found)$/;

const VALID_BOOT = {
  repo: { url: "/nonexistent/config.git", ref: "master" },
  role: "static:web",
  endpoints: { metadata: "off" },
  console: "off",
};

function writeBoot(t: TrialDir, over: (b: any) => void, file = "etc/muster/boot.json"): void {
  const b = structuredClone(VALID_BOOT) as any;
  over(b);
  rmSync(path.join(t.root, "etc/muster/boot.json"), { force: true });
  const p = path.join(t.root, file);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, file.endsWith(".json") ? JSON.stringify(b) : YAML.stringify(b));
}

const bootCase = (name: string, over: (b: any) => void, mentions: string[] = []): BadCase => ({
  name: `boot.json: ${name}`,
  setup: (t) => writeBoot(t, over),
  args: (t) => ["boot", "--root", t.root],
  mentions: () => ["boot.json", ...mentions],
});

function writeFleet(t: TrialDir, over: (f: any) => void): string {
  const f = testFleetYaml(97);
  over(f);
  const p = path.join(t.dir, "fleet.yaml");
  writeFileSync(p, YAML.stringify(f));
  return p;
}

/** `fleet up` of a valid fleet.yaml on the trial's state directory, with these flags */
const fleetUp = (t: TrialDir, ...flags: string[]) => [
  "fleet",
  "up",
  "--config",
  writeFleet(t, () => {}),
  "--state-dir",
  t.state,
  ...flags,
];

const fleetCase = (name: string, over: (f: any) => void, mentions: string[] = []): BadCase => ({
  name: `fleet.yaml: ${name}`,
  args: (t) => ["fleet", "up", "--config", writeFleet(t, over), "--state-dir", t.state, "--no-dashboard"],
  mentions: () => ["fleet.yaml", ...mentions],
});

const recipe = (t: TrialDir, name: string, body: string) =>
  writeFileSync(
    path.join(t.repo, "recipes", `${name}.ts`),
    `import { recipe } from "muster";\nexport default recipe("${name}", (${body}));\n`,
  );
/** a role file written into the repository; the converge of `role` must refuse it */
const roleCase = (name: string, role: string, file: string, text: string, mentions: string[]): BadCase => ({
  name: `role ${name}`,
  setup: (t) => writeRole(t, file, text),
  args: (t) => converge(t, role),
  mentions: () => mentions,
});
/** a recipe `base` with this body; the converge of role base must refuse it */
const recipeCase = (name: string, body: string, mentions: string[] = []): BadCase => ({
  name: `recipe: ${name}`,
  setup: (t) => recipe(t, "base", body),
  args: (t) => converge(t, "base"),
  mentions: () => mentions,
});
const converge = (t: TrialDir, role = "base") => [
  "converge",
  "--repo",
  t.repo,
  "--role",
  role,
  "--root",
  t.root,
];
const writeRole = (t: TrialDir, file: string, text: string) =>
  writeFileSync(path.join(t.repo, "roles", file), text);

const BAD_CASES: BadCase[] = [
  // converge
  { name: "converge without --repo", args: (t) => ["converge", "--role", "web", "--root", t.root] },
  { name: "converge without --role", args: (t) => ["converge", "--repo", t.repo, "--root", t.root] },
  {
    name: "converge --repo missing",
    args: (t) => ["converge", "--repo", path.join(t.dir, "nope"), "--role", "web", "--root", t.root],
    mentions: () => ["nope"],
  },
  { name: "converge --role unknown", args: (t) => converge(t, "nosuch"), mentions: () => ["nosuch"] },
  { name: "converge --role ../escape", args: (t) => converge(t, "../../etc/passwd") },
  { name: "converge --lock-wait abc", args: (t) => [...converge(t), "--lock-wait", "abc"] },
  { name: "converge --lock-wait -5", args: (t) => [...converge(t), "--lock-wait", "-5"] },
  { name: "converge --attr without =", args: (t) => [...converge(t), "--attr", "app.port"] },
  {
    name: "converge --root missing",
    args: (t) => ["converge", "--repo", t.repo, "--role", "web", "--root", path.join(t.dir, "noroot")],
  },
  { name: "converge unknown flag", args: (t) => [...converge(t), "--frobnicate"] },
  {
    name: "converge --environment over-long",
    args: (t) => [...converge(t), "--environment", "e".repeat(5000)],
  },
  roleCase("(Chef form) not JSON", "web", "web.json", '{"name": "web", "run_list": [,]}', ["web.json"]),
  roleCase(
    "(Chef form) run_list not an array",
    "web",
    "web.json",
    JSON.stringify({ name: "web", run_list: "recipe[web]" }),
    ["web.json", "run_list"],
  ),
  {
    name: "role (Chef form) unknown key",
    setup: (t) =>
      writeRole(t, "web.json", JSON.stringify({ name: "web", run_list: ["recipe[web]"], runlist: [] })),
    args: (t) => converge(t, "web"),
    mentions: () => ["web.json", "runlist"],
  },
  roleCase(
    "(Chef form) name differs from file",
    "web",
    "web.json",
    JSON.stringify({ name: "webx", run_list: ["recipe[web]"] }),
    ["web.json"],
  ),
  roleCase(
    "(Chef form) misspelt recipe",
    "web",
    "web.json",
    JSON.stringify({ name: "web", run_list: ["recipe[webb]"] }),
    ["webb"],
  ),
  roleCase(
    "(Chef form) unknown role in run_list",
    "web",
    "web.json",
    JSON.stringify({ name: "web", run_list: ["role[bsae]"] }),
    ["bsae"],
  ),
  roleCase("(muster form) bad YAML", "extra", "extra.yaml", "name: extra\nrunList: [base\n", ["extra.yaml"]),
  roleCase(
    "(muster form) unknown key",
    "extra",
    "extra.yaml",
    "name: extra\nrunList: [base]\nrun_lists: []\n",
    ["extra.yaml", "run_lists"],
  ),
  roleCase("(muster form) runList entry a number", "extra", "extra.yaml", "name: extra\nrunList: [42]\n", [
    "extra.yaml",
    "runList",
  ]),
  roleCase("(muster form) misspelt recipe", "extra", "extra.yaml", "name: extra\nrunList: [bsae]\n", [
    "bsae",
  ]),
  {
    name: "role (muster form) over-long description",
    setup: (t) =>
      writeRole(
        t,
        "base.yaml",
        `name: base\ndescription: ${"d".repeat(100_000)}\nrunList: [base]\ndefaultAttributes: { base: { motd: hi } }\n`,
      ),
    args: (t) => converge(t, "base"),
    mentions: () => ["base.yaml"],
  },
  recipeCase("unknown prop", '({ file }) => { file("/etc/motd", { content: "x", modee: "0644" }); }', [
    "modee",
  ]),
  recipeCase("bad mode", '({ file }) => { file("/etc/motd", { content: "x", mode: "999" }); }', [
    "/etc/motd",
  ]),
  recipeCase("deletes /", '({ directory }) => { directory("/", { action: "delete" }); }'),
  recipeCase("relative path", '({ file }) => { file("etc/motd", { content: "x" }); }', ["etc/motd"]),
  roleCase(
    "(muster form) broken, and another role includes it",
    "web",
    "base.yaml",
    "name: base\nrunList: [base]\nrun_lists: []\n",
    ["base.yaml"],
  ),
  recipeCase("file content a number", '({ file }) => { file("/etc/motd", { content: 5 }); }', ["/etc/motd"]),
  {
    name: "recipe: the same resource twice, differently",
    setup: (t) =>
      recipe(
        t,
        "base",
        '({ file }) => { file("/etc/motd", { content: "a" }); file("/etc/motd", { content: "b" }); }',
      ),
    args: (t) => converge(t, "base"),
    mentions: () => ["/etc/motd"],
  },
  recipeCase("syntax error", "({ file }) => { file(; }", ["base.ts"]),
  {
    name: "recipe: name differs from its file",
    setup: (t) =>
      writeFileSync(
        path.join(t.repo, "recipes/base.ts"),
        'import { recipe } from "muster";\nexport default recipe("bsae", () => {});\n',
      ),
    args: (t) => converge(t, "base"),
    mentions: () => ["base"],
  },
  {
    name: "recipe: source linked out of the repository",
    setup: (t) => {
      writeFileSync(
        path.join(t.dir, "outside.ts"),
        'import { recipe } from "muster";\nexport default recipe("base", () => {});\n',
      );
      rmSync(path.join(t.repo, "recipes/base.ts"));
      symlinkSync(path.join(t.dir, "outside.ts"), path.join(t.repo, "recipes/base.ts"));
    },
    args: (t) => converge(t, "base"),
    mentions: () => ["base"],
  },
  {
    name: "recipe: template source linked out of the repository",
    setup: (t) => {
      rmSync(path.join(t.repo, "templates/site.conf.eta"));
      symlinkSync("/etc/passwd", path.join(t.repo, "templates/site.conf.eta"));
      recipe(t, "base", '({ template }) => { template("/etc/site.conf", { source: "site.conf.eta" }); }');
    },
    args: (t) => converge(t, "base"),
    mentions: () => ["site.conf.eta"],
  },
  recipeCase("missing template", '({ template }) => { template("/etc/x.conf", { source: "nope.eta" }); }', [
    "nope.eta",
  ]),
  {
    name: "attributes file not JSON",
    setup: (t) => writeFileSync(path.join(t.repo, "attributes/web.json"), "{ app: "),
    args: (t) => converge(t, "web"),
    mentions: () => ["web.json"],
  },
  // check
  { name: "check without --repo", args: () => ["check", "--no-typecheck"], progress: CHECK_PROGRESS },
  {
    name: "check --repo missing",
    args: (t) => ["check", "--no-typecheck", "--repo", path.join(t.dir, "nope")],
    progress: CHECK_PROGRESS,
    mentions: () => ["nope"],
  },
  {
    name: "check --role unknown",
    args: (t) => ["check", "--no-typecheck", "--repo", t.repo, "--role", "nosuch"],
    progress: CHECK_PROGRESS,
    mentions: () => ["nosuch"],
  },
  {
    name: "check: role with an unknown key",
    setup: (t) => writeRole(t, "extra.yaml", "name: extra\nrunList: [base]\nbogus: 1\n"),
    args: (t) => ["check", "--no-typecheck", "--repo", t.repo],
    progress: CHECK_PROGRESS,
    mentions: () => ["extra.yaml", "bogus"],
  },
  {
    name: "check: recipe with an unknown prop",
    setup: (t) =>
      recipe(t, "base", '({ file }) => { file("/etc/motd", { content: "x", owner: 5, modee: 1 }); }'),
    args: (t) => ["check", "--no-typecheck", "--repo", t.repo, "--role", "base"],
    progress: CHECK_PROGRESS,
    mentions: () => ["modee"],
  },
  // boot
  { name: "boot --root missing", args: (t) => ["boot", "--root", path.join(t.dir, "noroot")] },
  {
    name: "boot without a boot config",
    setup: (t) => rmSync(path.join(t.root, "etc/muster/boot.json")),
    args: (t) => ["boot", "--root", t.root],
    mentions: () => ["boot.json"],
  },
  {
    name: "boot --config missing",
    args: (t) => ["boot", "--root", t.root, "--config", path.join(t.dir, "nope.json")],
    mentions: () => ["nope.json"],
  },
  { name: "boot unknown flag", args: (t) => ["boot", "--root", t.root, "--fast"] },
  {
    name: "boot.json not JSON",
    setup: (t) => writeFileSync(path.join(t.root, "etc/muster/boot.json"), '{"repo": {'),
    args: (t) => ["boot", "--root", t.root],
    mentions: () => ["boot.json"],
  },
  bootCase("repo missing", (b) => delete b.repo, ["repo"]),
  bootCase("repo.url a number", (b) => (b.repo.url = 42), ["repo.url"]),
  bootCase("repo.url plain http off loopback", (b) => (b.repo.url = "http://config.example.com/c.git"), [
    "repo.url",
  ]),
  bootCase("repo.url over-long", (b) => (b.repo.url = `https://h/${"a".repeat(10_000)}`), ["repo.url"]),
  bootCase("repo.ref over-long", (b) => (b.repo.ref = "r".repeat(5000)), ["repo.ref"]),
  bootCase("repo.depth negative", (b) => (b.repo.depth = -1), ["repo.depth"]),
  bootCase("repo unknown key", (b) => (b.repo.branch = "main"), ["branch"]),
  bootCase("unknown top-level key", (b) => (b.retry = {}), ["retry"]),
  bootCase("role over-long", (b) => (b.role = `static:${"r".repeat(5000)}`), ["role"]),
  bootCase("role a number", (b) => (b.role = 7), ["role"]),
  bootCase("retries.attempts 0", (b) => (b.retries = { attempts: 0 }), ["retries.attempts"]),
  bootCase("retries.attempts 1000", (b) => (b.retries = { attempts: 1000 }), ["retries.attempts"]),
  bootCase("retries.jitter 2", (b) => (b.retries = { jitter: 2 }), ["retries.jitter"]),
  bootCase("retries.deadline a string", (b) => (b.retries = { deadline: "soon" }), ["retries.deadline"]),
  bootCase("gate.file relative", (b) => (b.gate = { file: "srv/www/ping.html" }), ["gate.file"]),
  bootCase("gate.file with ..", (b) => (b.gate = { file: "/srv/../../etc/passwd" }), ["gate.file"]),
  bootCase("gate.file the root", (b) => (b.gate = { file: "/" }), ["gate.file"]),
  bootCase("gate.http.port 70000", (b) => (b.gate = { http: { port: 70000 } }), ["gate.http.port"]),
  bootCase("gate.http.appCheck not a URL", (b) => (b.gate = { http: { port: 8081, appCheck: "nope" } }), [
    "appCheck",
  ]),
  bootCase("stateDir /var", (b) => (b.stateDir = "/var"), ["stateDir"]),
  bootCase("image.clean /etc", (b) => (b.image = { clean: ["/etc"] }), ["image.clean"]),
  bootCase("periodic.interval 10", (b) => (b.periodic = { interval: 10 }), ["periodic.interval"]),
  bootCase("endpoints.metadata ftp://", (b) => (b.endpoints = { metadata: "ftp://x/" }), [
    "endpoints.metadata",
  ]),
  bootCase("failureLog.logGroup bad name", (b) => (b.failureLog = { logGroup: "bad name!" }), ["logGroup"]),
  bootCase("checks[0].url not a URL", (b) => (b.checks = [{ url: "localhost:80" }]), ["checks"]),
  bootCase("timeouts.git negative", (b) => (b.timeouts = { git: -1 }), ["timeouts.git"]),
  bootCase("lifecycle.onFailure unknown", (b) => (b.lifecycle = { onFailure: "maybe" }), ["onFailure"]),
  bootCase("drain.address not IPv4", (b) => (b.drain = { address: "localhost" }), ["drain.address"]),
  bootCase("attributes a list", (b) => (b.attributes = [1, 2]), ["attributes"]),
  {
    name: "boot.yaml: bad YAML",
    setup: (t) => {
      rmSync(path.join(t.root, "etc/muster/boot.json"));
      writeFileSync(path.join(t.root, "etc/muster/boot.yaml"), "repo:\n  url: [unclosed\n");
    },
    args: (t) => ["boot", "--root", t.root],
    mentions: () => ["boot.yaml"],
  },
  {
    name: "boot.yaml: retries.attempts a string",
    setup: (t) => writeBoot(t, (b) => (b.retries = { attempts: "three" }), "etc/muster/boot.yaml"),
    args: (t) => ["boot", "--root", t.root],
    mentions: () => ["boot.yaml", "retries.attempts"],
  },
  // install
  {
    name: "install --platform unknown",
    args: (t) => ["install", "--root", t.root, "--print-user-data", "--platform", "windows"],
    mentions: () => ["windows"],
  },
  {
    name: "install --config missing",
    args: (t) => ["install", "--root", t.root, "--config", path.join(t.dir, "nope.json")],
    mentions: () => ["nope.json"],
  },
  {
    name: "install --config with a bad field",
    setup: (t) =>
      writeFileSync(
        path.join(t.dir, "new-boot.json"),
        JSON.stringify({ ...VALID_BOOT, retries: { attempts: 0 } }),
      ),
    args: (t) => ["install", "--root", t.root, "--config", path.join(t.dir, "new-boot.json")],
    mentions: () => ["retries.attempts"],
  },
  {
    name: "install --node missing",
    args: (t) => ["install", "--root", t.root, "--node", path.join(t.dir, "no-node")],
    mentions: () => ["no-node"],
  },
  // gate
  {
    name: "gate status --root missing",
    args: (t) => ["gate", "status", "--root", path.join(t.dir, "noroot")],
  },
  {
    name: "gate status with a bad boot.json",
    setup: (t) => writeBoot(t, (b) => (b.gate = { file: "relative" })),
    args: (t) => ["gate", "status", "--root", t.root],
    mentions: () => ["gate.file"],
  },
  { name: "gate close unknown flag", args: (t) => ["gate", "close", "--root", t.root, "--force"] },
  { name: "gate unknown subcommand", args: (t) => ["gate", "opne", "--root", t.root] },
  // health
  { name: "health serve --port abc", args: (t) => ["health", "serve", "--root", t.root, "--port", "abc"] },
  {
    name: "health serve --port 70000",
    args: (t) => ["health", "serve", "--root", t.root, "--port", "70000"],
  },
  {
    name: "health serve --app-check not a URL",
    args: (t) => ["health", "serve", "--root", t.root, "--port", "1", "--app-check", "nope"],
  },
  {
    name: "health serve --path without /",
    args: (t) => ["health", "serve", "--root", t.root, "--port", "1", "--path", "health"],
  },
  { name: "health serve without a port anywhere", args: (t) => ["health", "serve", "--root", t.root] },
  // image prepare
  {
    name: "image prepare with image.clean a top-level dir",
    setup: (t) => writeBoot(t, (b) => (b.image = { clean: ["/srv"] })),
    args: (t) => ["image", "prepare", "--root", t.root],
    mentions: () => ["image.clean"],
  },
  {
    name: "image prepare --root missing",
    args: (t) => ["image", "prepare", "--root", path.join(t.dir, "noroot")],
  },
  // schema
  { name: "schema without a kind", args: () => ["schema"] },
  { name: "schema unknown kind", args: () => ["schema", "bootz"], mentions: () => ["bootz"] },
  // status
  { name: "status --root missing", args: (t) => ["status", "--root", path.join(t.dir, "noroot")] },
  {
    name: "status with a bad boot.json",
    setup: (t) => writeBoot(t, (b) => (b.stateDir = "relative")),
    args: (t) => ["status", "--root", t.root],
    mentions: () => ["stateDir"],
  },
  // fleet
  fleetCase("group.min above max", (f) => (f.group.min = 9), ["group"]),
  fleetCase("group.desired a string", (f) => (f.group.desired = "two"), ["group.desired"]),
  fleetCase("unknown key", (f) => (f.groups = {}), ["groups"]),
  fleetCase("loadBalancer.kind unknown", (f) => (f.loadBalancer.kind = "nginx"), ["loadBalancer.kind"]),
  fleetCase("repositories.config.dir missing", (f) => (f.repositories.config.dir = "/nonexistent/config"), [
    "repositories.config",
  ]),
  fleetCase("instances.addresses off loopback", (f) => (f.instances.addresses = "10.0.0.1-10.0.0.9"), [
    "instances.addresses",
  ]),
  fleetCase("group.name over-long", (f) => (f.group.name = "g".repeat(5000)), ["group.name"]),
  {
    name: "fleet.yaml: not YAML",
    setup: (t) => writeFileSync(path.join(t.dir, "fleet.yaml"), "group: [\n"),
    args: (t) => ["fleet", "up", "--config", path.join(t.dir, "fleet.yaml"), "--state-dir", t.state],
    mentions: () => ["fleet.yaml"],
  },
  {
    name: "fleet up --config missing",
    args: (t) => ["fleet", "up", "--config", path.join(t.dir, "nope.yaml"), "--state-dir", t.state],
    mentions: () => ["nope.yaml"],
  },
  {
    name: "fleet up --addresses garbage",
    args: (t) => fleetUp(t, "--addresses", "x-y"),
  },
  {
    name: "fleet up --dashboard-port 99999",
    args: (t) => fleetUp(t, "--dashboard-port", "99999"),
  },
  {
    name: "fleet up --timeout abc",
    args: (t) => fleetUp(t, "--wait", "--timeout", "abc"),
  },
  {
    name: "fleet up with a state dir open to others",
    setup: (t) => {
      mkdirSync(t.state);
      chmodSync(t.state, 0o777);
    },
    args: (t) => ["fleet", "up", "--config", writeFleet(t, () => {}), "--state-dir", t.state],
    mentions: (t) => [t.state],
  },
  {
    name: "fleet env with a state dir open to others",
    setup: (t) => {
      mkdirSync(t.state);
      chmodSync(t.state, 0o777);
    },
    args: (t) => ["fleet", "env", "--config", writeFleet(t, () => {}), "--state-dir", t.state],
    mentions: (t) => [t.state],
  },
  { name: "fleet scale abc", args: (t) => ["fleet", "scale", "abc", "--state-dir", t.state] },
  { name: "fleet scale -1", args: (t) => ["fleet", "scale", "-1", "--state-dir", t.state] },
  { name: "fleet scale 1e9", args: (t) => ["fleet", "scale", "1000000000000", "--state-dir", t.state] },
  { name: "fleet scale without n", args: (t) => ["fleet", "scale", "--state-dir", t.state] },
  { name: "fleet fault unknown kind", args: (t) => ["fleet", "fault", "flood", "--state-dir", t.state] },
  {
    name: "fleet fault git-slow abc",
    args: (t) => ["fleet", "fault", "git-slow", "abc", "--state-dir", t.state],
  },
  {
    name: "fleet fault git-slow over an hour",
    args: (t) => ["fleet", "fault", "git-slow", "99999999999", "--state-dir", t.state],
  },
  {
    name: "fleet fault kill without instance",
    args: (t) => ["fleet", "fault", "kill", "--state-dir", t.state],
  },
  {
    name: "fleet fault git-down with a value",
    args: (t) => ["fleet", "fault", "git-down", "5", "--state-dir", t.state],
  },
  { name: "fleet why without instance", args: (t) => ["fleet", "why", "--state-dir", t.state] },
  {
    name: "fleet refresh --min-healthy-percentage 200",
    args: (t) => ["fleet", "refresh", "--min-healthy-percentage", "200", "--state-dir", t.state],
  },
  {
    name: "fleet refresh --checkpoints abc",
    args: (t) => ["fleet", "refresh", "--checkpoints", "abc", "--state-dir", t.state],
  },
  {
    name: "fleet refresh --instance-warmup -1",
    args: (t) => ["fleet", "refresh", "--instance-warmup", "-1", "--state-dir", t.state],
  },
  {
    name: "fleet env unknown flag",
    args: (t) => ["fleet", "env", "--shell", "fish", "--state-dir", t.state],
  },
  { name: "fleet unknown subcommand", args: (t) => ["fleet", "upp", "--state-dir", t.state] },
  // init
  {
    name: "init into a non-empty directory",
    setup: (t) => {
      mkdirSync(path.join(t.dir, "cfg"));
      writeFileSync(path.join(t.dir, "cfg/notes.txt"), "mine\n");
    },
    args: (t) => ["init", path.join(t.dir, "cfg")],
    mentions: () => ["cfg"],
  },
  {
    name: "init onto a file",
    setup: (t) => writeFileSync(path.join(t.dir, "cfg"), "a file\n"),
    args: (t) => ["init", path.join(t.dir, "cfg")],
    mentions: () => ["cfg"],
  },
  { name: "unknown command", args: () => ["convrege"] },
];

function commandText(args: string[], t: TrialDir): string {
  const s = args.map((a) => (a.startsWith(t.dir) ? `T${a.slice(t.dir.length)}` : a)).join(" ");
  return s.length > 100 ? `${s.slice(0, 97)}...` : s;
}

async function badInputTrials(): Promise<BadInputResult[]> {
  const results: BadInputResult[] = [];
  for (const c of BAD_CASES) {
    const dir = mkdtempSync(path.join(tmpdir(), "muster-trial-bad-"));
    const t: TrialDir = {
      dir,
      root: path.join(dir, "root"),
      repo: path.join(dir, "repo"),
      state: path.join(dir, "state"),
    };
    try {
      mkdirSync(path.join(t.root, "etc/muster"), { recursive: true });
      writeFileSync(path.join(t.root, "etc/muster/boot.json"), JSON.stringify(VALID_BOOT));
      cpSync(path.join(EXAMPLES, "config-repo"), t.repo, { recursive: true });
      c.setup?.(t);
      const args = c.args(t);
      const before = listing(dir);
      const run = await runCli(args, { cwd: c.cwd?.(t) ?? dir, timeoutMs: 30_000 });
      const changes = listingChanges(before, listing(dir));
      const problems = badInputProblems(run, {
        problems: c.problems,
        mentions: c.mentions?.(t),
        changes,
        progress: c.progress,
      });
      if (problems.length > 0) {
        const first = run.stderr.split("\n").find((l) => l.trim()) ?? "";
        problems.push(`stderr: ${JSON.stringify(first.replaceAll(dir, "T").slice(0, 200))}`);
      }
      results.push({ name: c.name, command: commandText(args, t), problems });
      process.stderr.write(problems.length === 0 ? "." : "x");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stderr.write("\n");
  return results;
}

// ---------------------------------------------------------------------------------------------
// 2. kill trials

function readText(p: string): string | undefined {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}

async function killTrials(seed: number, wanted: number): Promise<KillTrial[]> {
  const fx: BootFixture = await bootFixture(await exampleBareRepos());
  // a new commit in both repositories before each boot, so each stage has real work to be killed in
  const newRevisions = revisionPusher(fx);
  const random = seededRandom(seed);
  let boots = 0;
  const nextBootId = () => `trial-boot-${++boots}`;
  const gateStatus = async (bootId: string) =>
    (await runCli(["gate", "status", "--root", fx.root, "--boot-id", bootId], { timeoutMs: 30_000 })).code ??
    -1;
  const trials: KillTrial[] = [];
  try {
    const durations: number[] = [];
    for (let i = 0; i < 3; i++) {
      fx.startAction();
      await newRevisions();
      const r = await runCli(["boot", "--root", fx.root, "--boot-id", nextBootId()], { timeoutMs: 180_000 });
      if (r.code !== 0) throw new Error(`calibration boot failed (${r.code}): ${r.stderr.slice(-500)}`);
      durations.push(r.ms);
    }
    let window = Math.max(...durations.slice(1));
    process.stderr.write(`kill trials: boots take ${durations.join(", ")} ms; seed ${seed}\n`);
    let killedCount = 0;
    while (killedCount < wanted && trials.length < wanted * 3) {
      fx.startAction();
      await newRevisions();
      const bootId = nextBootId();
      const killAtMs = Math.floor(random() * window);
      const run = await runCli(["boot", "--root", fx.root, "--boot-id", bootId], {
        timeoutMs: 180_000,
        killAfterMs: killAtMs,
      });
      if (!run.killed) {
        // it finished first: not a crash
        window = Math.max(1, Math.min(window, run.ms));
        trials.push({
          killAtMs,
          killed: false,
          landed: "finished first",
          gateStatusCode: -1,
          healthStatus: -1,
        });
        continue;
      }
      const record = (() => {
        try {
          return JSON.parse(readText(path.join(fx.root, "var/lib/muster/last-run.json")) ?? "") as BootRecord;
        } catch {
          return undefined;
        }
      })();
      const ours = record?.bootId === bootId;
      const last = record?.stages.at(-1);
      const landed = !ours ? "before its record" : last ? `after ${last.stage}` : "at the start";
      const health = await healthAnswer(new RootFs(fx.root), {
        root: fx.root,
        gateFile: GATE_FILE,
        bootId,
        port: 0,
      });
      // open, and earned: this very run passed its checks before it opened the gate (as the crash test)
      const verdict = judgeGate(readText(path.join(fx.root, GATE_FILE)), bootId);
      const afterGate =
        verdict.state === "open" &&
        record !== undefined &&
        ours &&
        record.runId === verdict.record.runId &&
        record.stages.some((s) => s.stage === "checks" && s.ok && s.attempt === record.attempts);
      if (!afterGate) killedCount++;
      const trial: KillTrial = {
        killAtMs,
        killed: true,
        afterGate,
        landed,
        gateStatusCode: await gateStatus(bootId),
        healthStatus: health.status,
      };
      // every third kill: the server boots again, uninterrupted (a new boot id, as after a reboot)
      if (!afterGate && killedCount % 3 === 0) {
        fx.startAction();
        const nextId = nextBootId();
        const again = await runCli(["boot", "--root", fx.root, "--boot-id", nextId], { timeoutMs: 180_000 });
        trial.recovery = { bootCode: again.code ?? -1, gateStatusCode: await gateStatus(nextId) };
      }
      trials.push(trial);
      process.stderr.write(
        afterGate ? "g" : trial.gateStatusCode === 3 && trial.healthStatus !== 200 ? "." : "O",
      );
    }
    process.stderr.write("\n");
  } finally {
    await fx.close();
  }
  return trials;
}

// ---------------------------------------------------------------------------------------------
// 3. churn

const HAPROXY = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].find((p) => existsSync(p));
/**
 * A request in flight to a killed instance: sent up to this long before its kill (a request that
 * was being answered) or after it (SIGKILL to the socket closing and the load balancer noticing
 * take a moment on a loaded machine); the HAProxy fault test uses 1000 and 300 ms.
 */
const IN_FLIGHT = { before: 1500, after: 1000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Did this instance's boot fail (given up, exit code non-zero, or ABANDON)? */
function bootFailed(i: InstanceStatus): boolean {
  return (
    (i.boot.exitCode !== undefined && i.boot.exitCode !== null && i.boot.exitCode !== 0) ||
    i.boot.outcome === "failed" ||
    i.boot.lifecycle?.result === "ABANDON"
  );
}

async function churnTrial(lb: "builtin" | "haproxy", seconds: number) {
  const notes: string[] = [];
  const cfg =
    lb === "haproxy"
      ? testFleetConfig(98, {
          group: { min: 1, max: 8, desired: 2 },
          loadBalancer: { kind: "haproxy", haproxy: HAPROXY, preset: "fast" },
        })
      : testFleetConfig(97, { group: { min: 1, max: 8, desired: 2 } });
  const c = await FleetController.start(cfg, { musterBin: BIN });
  const seen = new Map<string, InstanceStatus>();
  const poll = setInterval(() => {
    for (const i of c.status().instances) seen.set(i.id, i);
  }, 250);
  const kills: { id: string; at: number }[] = [];
  let traffic: ReturnType<typeof startTraffic> | undefined;
  try {
    await until("two instances InService", () => stable(c.status(), 2), 120_000);
    traffic = startTraffic(c.lb.url, { clients: 3, pauseMs: 10 });
    const started = Date.now();
    const at = (s: number) => sleep(Math.max(0, started + s * seconds * 10 - Date.now()));
    const kill = async () => {
      const up = inService(c.status());
      if (up.length < 2) {
        notes.push(
          `a kill skipped at ${Math.round((Date.now() - started) / 1000)} s: fewer than two in service`,
        );
        return;
      }
      const victim = up[0];
      kills.push({ id: victim.id, at: Date.now() });
      await c.fault({ kind: "kill", instance: victim.id });
    };
    // the plan, in hundredths of the run: out, fail, back, kills, in
    c.scale(4);
    await at(15);
    await c.fault({ kind: "git-down" });
    c.scale(6);
    await at(40);
    await c.fault({ kind: "git-up" });
    await at(50);
    await kill();
    await at(62);
    await kill();
    await at(72);
    await kill();
    await at(80);
    c.scale(2);
    await at(100);
    const t = await traffic.stop();
    traffic = undefined;
    for (const i of c.status().instances) seen.set(i.id, i);
    const failedBoots = [...seen.values()].filter(bootFailed).map((i) => i.id);
    const killed = new Set(kills.map((k) => k.id));
    const accessLog = readAccessLog(c.lb.accessLogPath);
    notes.push(
      `access log: ${accessLog.length} lines; failed boots: ${failedBoots.join(" ") || "none"}; killed: ${kills.map((k) => k.id).join(" ")}`,
    );
    const tally = tallyChurn({
      requests: t.records,
      accessLog,
      failedBoots: failedBoots.filter((id) => !killed.has(id)),
      kills,
      inFlightBeforeMs: IN_FLIGHT.before,
      inFlightAfterMs: IN_FLIGHT.after,
    });
    notes.push(
      `${seen.size} instances launched, ${kills.length} killed; failures seen: ${t.failures.slice(0, 3).join(" | ") || "none"}`,
    );
    return {
      lb,
      tally,
      durationS: Math.round((Date.now() - started) / 1000),
      inFlightMs: IN_FLIGHT,
      notes,
    };
  } finally {
    clearInterval(poll);
    await traffic?.stop();
    const left = await shutdownLeftovers(c);
    const n = left.reported.length + left.started.length + left.found.length;
    if (n > 0) notes.push(`${n} processes left after shutdown: ${JSON.stringify(left)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// secrets and the health endpoint

async function secretsTrial(): Promise<SecretsResult> {
  const token = "tok3n-trials-5ecret";
  // something that accepts the connection and closes it: git fails, with the URL in its words
  const server = createServer((sock) => sock.destroy());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const credentialed = (repo: string) => `https://user:${token}@127.0.0.1:${port}/${repo}.git`;
  const places: SecretsResult["places"] = [];
  const notes: string[] = [];
  const look = (place: string, text: string | undefined) =>
    places.push({ place, present: text !== undefined && text !== "", found: !!text?.includes(token) });

  /** one failing boot; every place its outcome is written to, looked through for the token */
  const bootAndLook = async (
    what: string,
    repos: { configBare: string; appBare: string },
    edit: (cfg: any) => void,
  ) => {
    const fx = await bootFixture(repos);
    try {
      const cfg = fx.baseConfig();
      cfg.retries = { attempts: 1, backoffBase: 0.01, backoffCap: 0.02, jitter: 0, deadline: 60 };
      edit(cfg);
      fx.writeConfig(cfg);
      const run = await runCli(["boot", "--root", fx.root, "--json", "--boot-id", "secrets-boot"], {
        timeoutMs: 120_000,
      });
      look(`${what}: exit code ${run.code}; --json report (stdout)`, run.stdout);
      look(`${what}: stderr`, run.stderr);
      look(`${what}: boot.log`, readText(path.join(fx.root, "var/log/muster/boot.log")));
      const lastRun = readText(path.join(fx.root, "var/lib/muster/last-run.json"));
      look(`${what}: last-run.json`, lastRun);
      const rec = JSON.parse(lastRun ?? "{}") as Partial<BootRecord>;
      const log = readText(path.join(fx.root, "var/log/muster/boot.log")) ?? "";
      notes.push(
        `${what}: outcome ${rec.outcome}, failed stage ${rec.failedStage}, error ${JSON.stringify((rec.error ?? "").slice(0, 300))}; the sensitive resource (compare-secret) named in boot.log ${log.includes("compare-secret")}, in the --json report ${run.stdout.includes("compare-secret")}`,
      );
      const stateDir = path.join(fx.root, "var/lib/muster");
      for (const f of readdirSync(stateDir).filter((n) => /fail/.test(n)))
        look(`${what}: failure record ${f}`, readText(path.join(stateDir, f)));
      look(`${what}: lifecycle calls to Auto Scaling`, JSON.stringify(fx.asg.calls.map((c) => c.params)));
      const status = await runCli(["status", "--root", fx.root, "--json", "--boot-id", "secrets-boot"]);
      look(`${what}: muster status --json`, status.stdout);
    } finally {
      await fx.close();
    }
  };

  try {
    const repos = await exampleBareRepos();
    // 1. the config repository's own URL carries the token: the fetch fails
    await bootAndLook("credentialed config repo URL", repos, (cfg) => {
      cfg.repo.url = credentialed("config");
    });
    // 2. a sensitive resource whose command holds the token runs, then the app's git resource
    //    fails on a credentialed URL: the converge fails with both in its log and record
    // 2. a sensitive resource whose command holds the token fails; 3. it passes, then the app's
    //    git resource fails on a credentialed URL. Both fail the converge with the token near.
    const work = mkdtempSync(path.join(tmpdir(), "muster-trial-secrets-"));
    try {
      const withSensitive = async (name: string, command: string) => {
        const src = path.join(work, name);
        cpSync(path.join(EXAMPLES, "config-repo"), src, { recursive: true });
        const base = path.join(src, "recipes/base.ts");
        writeFileSync(
          base,
          readFileSync(base, "utf8").replace(
            "({ attrs, node, directory, file }) => {",
            `({ attrs, node, directory, file, execute }) => {\n  execute("compare-secret", { command: ${JSON.stringify(command)}, sensitive: true });`,
          ),
        );
        const bare = path.join(work, `${name}.git`);
        await bareRepoFrom(src, bare);
        return bare;
      };
      const failing = await withSensitive("failing", `test ${token} = something-else`);
      await bootAndLook("failing sensitive resource", { ...repos, configBare: failing }, () => {});
      const passing = await withSensitive("passing", `test ${token} = ${token}`);
      await bootAndLook(
        "sensitive resource, then a credentialed app repo",
        { configBare: passing, appBare: repos.appBare },
        (cfg) => {
          cfg.attributes.app.repo = credentialed("app");
        },
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return { token, places, notes };
  } finally {
    await new Promise((r) => server.close(r));
  }
}

async function healthTrial(): Promise<{ record: string; status: number }[]> {
  const root = mkdtempSync(path.join(tmpdir(), "muster-trial-health-"));
  const bootId = "this-boot";
  const good = {
    gate: "open",
    bootId,
    role: "web",
    runId: "r1",
    openedAt: new Date().toISOString(),
  };
  const records: [string, string | undefined][] = [
    ["no gate file", undefined],
    ["stale: another boot's record", JSON.stringify({ ...good, bootId: "an-earlier-boot" })],
    ["forged: not JSON", "OK\n"],
    ["forged: empty", ""],
    ["forged: gate closed", JSON.stringify({ ...good, gate: "closed" })],
    ["forged: no boot id", JSON.stringify({ ...good, bootId: undefined })],
    ["forged: empty boot id", JSON.stringify({ ...good, bootId: "" })],
    ["forged: boot id a number", JSON.stringify({ ...good, bootId: 1 })],
    ["forged: no runId", JSON.stringify({ ...good, runId: undefined })],
    ["forged: a JSON list", JSON.stringify([good])],
    ["forged: null", "null"],
    ["forged: half a record (cut write)", JSON.stringify(good).slice(0, 40)],
  ];
  const out: { record: string; status: number }[] = [];
  try {
    mkdirSync(path.join(root, "srv/www"), { recursive: true });
    const file = path.join(root, GATE_FILE);
    for (const [name, content] of records) {
      rmSync(file, { force: true });
      if (content !== undefined) writeFileSync(file, content);
      const a = await healthAnswer(new RootFs(root), { root, gateFile: GATE_FILE, bootId, port: 0 });
      out.push({ record: name, status: a.status });
    }
    // a link to a record elsewhere: the root's file system does not follow links out of the root
    rmSync(file, { force: true });
    const outside = path.join(tmpdir(), `muster-trial-gate-${process.pid}.json`);
    writeFileSync(outside, JSON.stringify(good));
    symlinkSync(outside, file);
    try {
      const a = await healthAnswer(new RootFs(root), { root, gateFile: GATE_FILE, bootId, port: 0 }).catch(
        () => ({ status: 503 }),
      );
      out.push({ record: "forged: a link to a valid record outside the root", status: a.status });
    } finally {
      rmSync(outside, { force: true });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: "string" } } });
  const only = new Set((values.only ?? "bad,kills,churn,secrets,health").split(","));
  const seed = Number(process.env.TRIALS_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  const wantedKills = Number(process.env.TRIALS_KILLS ?? 40);
  const churnS = Number(process.env.TRIALS_CHURN_S ?? 75);
  execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: REPO, stdio: "ignore" });
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
    cwd: REPO,
    encoding: "utf8",
  }).trim();
  const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "bin"], {
    cwd: REPO,
    encoding: "utf8",
  });
  const report: TrialsReport = {
    commit: `${commit}${dirty.trim() ? " (with uncommitted changes in src/bin)" : ""}`,
    when: new Date().toISOString(),
    machine: `${cpus().length} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} at the start`,
    seed,
  };
  const figure = (s: string) => console.log(s);
  try {
    if (only.has("bad")) {
      report.badInputs = await badInputTrials();
      figure(badInputFigure(report.badInputs));
    }
    if (only.has("health")) {
      report.health = await healthTrial();
      figure(healthFigure(report.health));
    }
    if (only.has("secrets")) {
      report.secrets = await secretsTrial();
      figure(secretsFigure(report.secrets));
    }
    if (only.has("kills")) {
      const trials = await killTrials(seed, wantedKills);
      report.kills = { tally: tallyKills(trials), trials };
      figure(killFigure(report.kills.tally));
    }
    if (only.has("churn")) {
      report.churn = [];
      for (const lb of ["builtin", "haproxy"] as const) {
        if (lb === "haproxy" && !HAPROXY) {
          console.log("churn (haproxy): haproxy is not installed; left out");
          continue;
        }
        const r = await churnTrial(lb, churnS);
        report.churn.push(r);
        figure(churnFigure(lb, r.tally));
      }
    }
  } finally {
    cleanupTmp();
    const out = path.join(REPO, "bench/results/trials.md");
    writeFileSync(out, trialsMarkdown(report));
    console.log(`written ${path.relative(REPO, out)}`);
  }
}

await main();
