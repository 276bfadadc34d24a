/**
 * `muster boot` (and the periodic re-converge, `muster boot --periodic`): the pipeline of
 * pipeline.ts wired to the real stages, the gate file, the lock, the Auto Scaling API, the JSON
 * log under the root's /var/log/muster/boot.log and the state directory.
 */
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { completeLifecycleAction, type LifecycleTarget, startHeartbeats } from "../cloud/lifecycle.ts";
import { readDepartureSignals } from "../cloud/metadata.ts";
import { InputError, PermanentRunError, RunError, TimeoutError } from "../core/errors.ts";
import { currentBootId } from "../gate/boot-id.ts";
import { exposureWarning, gateDirExposure } from "../gate/gate-exposure.ts";
import { closeGate, openGate, readGate } from "../gate/gate-file.ts";
import type { GateRecord } from "../gate/gate-state.ts";
import { idResolver } from "../host/ids.ts";
import { RootFs } from "../host/root-fs.ts";
import { redactUrl } from "../resources/git-env.ts";
import { acquireLock } from "../runner/lock.ts";
import type { ResourceResult } from "../runner/report.ts";
import { openRunLog, type RunLog } from "../runner/run-log.ts";
import { type BootConfig, gatesAnyConfigCouldName, loadBootConfig } from "./boot-config.ts";
import { leavingBeforeService, parseSpotNotice } from "./departure-plan.ts";
import { failureReporter } from "./failure-report.ts";
import { CLOUD_INIT_INSTANCE_DATA, CLOUD_INIT_INSTANCE_ID, lifecycleTargetFor } from "./lifecycle-target.ts";
import { clearLocksFromEarlierBoots } from "./locks.ts";
import { describeError, exitCode, type Facts, type LifecyclePort, runPipeline } from "./pipeline.ts";
import { fetchRef, type RunMode } from "./plan.ts";
import { runChecks } from "./stages/checks.ts";
import { installDependencies } from "./stages/deps.ts";
import { type FetchResult, fetchConfigRepo } from "./stages/fetch.ts";
import { identifyStage } from "./stages/identify.ts";
import { pickRole } from "./stages/role.ts";
import { verifyCommit } from "./stages/verify.ts";
import {
  type BootRecord,
  ensurePrivateDir,
  openedOn,
  saveConvergeReport,
  saveOpenedGate,
  saveRecord,
} from "./state.ts";

export const BOOT_LOCK = "/run/muster/boot.lock";
export const CONVERGE_LOCK = "/var/lib/muster/converge.lock";

export interface BootOptions {
  root: string;
  /** --config: a boot config file instead of the root's /etc/muster/boot.json|yaml */
  config?: string;
  bootId?: string;
  mode?: RunMode;
  /** human lines (stdout; stderr with --json) */
  say?: (line: string) => void;
  /** a resource line printer for the converge stage */
  onResult?: (r: ResourceResult) => void;
  /** every event of the pipeline's log (stage.start, stage.end, ...), for progress on a terminal */
  onEvent?: (event: string, fields?: Record<string, unknown>) => void;
  env?: Record<string, string | undefined>;
  /** for tests */
  random?: () => number;
}

export interface BootResult {
  exitCode: number;
  record: BootRecord;
  config: BootConfig;
  /** time spent in git's network step and in the converge, for the overhead benchmark */
  timings: { transferMs: number; convergeMs: number };
}

/** Once per boot: who else could open the gate early (see gate-exposure.ts). A warning, never a failure. */
function warnIfGateExposed(fs: RootFs, cfg: BootConfig, log: RunLog, say: (line: string) => void): void {
  const exposure = gateDirExposure(fs, cfg.gate.file, process.geteuid?.() ?? 0);
  if (!exposure) return;
  const msg = exposureWarning(cfg.gate.file, exposure, idResolver(fs.root));
  log.event("warn", { msg, gate: cfg.gate.file, dir: exposure.dir });
  say(`muster boot: warning: ${msg}`);
}

/** Load the config; when it is missing or broken, still close every gate it could name. */
function loadOrCloseGates(fs: RootFs, opts: BootOptions, mode: RunMode): BootConfig {
  try {
    return loadBootConfig(fs.root, opts.config);
  } catch (err) {
    if (mode === "boot" && err instanceof InputError) {
      for (const g of gatesAnyConfigCouldName(fs.root, opts.config))
        try {
          closeGate(fs, g);
        } catch {}
    }
    throw err;
  }
}

export async function runBoot(opts: BootOptions): Promise<BootResult> {
  const mode = opts.mode ?? "boot";
  const env = opts.env ?? process.env;
  const fs = new RootFs(opts.root);
  const bootId = currentBootId(opts.bootId, env);
  const cfg = loadOrCloseGates(fs, opts, mode);
  const say = opts.say ?? (() => {});
  const runId = randomUUID();
  const log: RunLog = openRunLog(fs.root, "boot.log", { runId, mode });
  const timings = { transferMs: 0, convergeMs: 0 };
  const stateDir = cfg.stateDir;

  say(
    `muster ${mode}: ${redactUrl(cfg.repo.url)} at ${cfg.repo.ref} into ${fs.root} (boot ${bootId}, run ${runId.slice(0, 8)})`,
  );
  if (mode === "boot") warnIfGateExposed(fs, cfg, log, say);

  const lifecycle =
    cfg.lifecycle?.hook && mode === "boot" ? lifecyclePort(cfg, fs, env, log, say) : undefined;
  // Run the Auto Scaling client's modules (their start-up code, some milliseconds of CPU) while
  // git fetches in its own process: not at the start, where they would hold up identify (the
  // metadata client's run then), nor when the gate is about to open.
  let preloaded = !lifecycle;
  const preloadLifecycleClient = () => {
    if (preloaded) return;
    preloaded = true;
    void import("@aws-sdk/client-auto-scaling").catch(() => {});
  };
  // The converge machinery (resource kinds, templates, diffs, the recipe compiler) is most of
  // muster's code: loaded while git fetches, not before the boot's first stage.
  let session: Promise<typeof import("../runner/session.ts")> | undefined;
  const loadSession = () => {
    session ??= import("../runner/session.ts");
    session.catch(() => {}); // the converge stage awaits it and reports a failure
    return session;
  };

  const warmCompiler = () =>
    import("../config/compile-recipes.ts").then(
      (m) => m.warmRecipeCompiler(),
      () => {},
    );

  // The config repo's fetch of a boot's first attempt starts with identify, not after it: the two
  // wait on different things (git's own process and the network, the metadata service) and
  // neither needs the other; the fetch stage then takes the fetch under way. Started by the
  // attempt that uses it only: a later attempt fetches again (a fix pushed meanwhile), after the
  // early fetch has ended (two gits must not work in one checkout at once).
  const fetchNow = (repo: BootConfig["repo"], remainingMs: number, signal?: AbortSignal) =>
    fetchConfigRepo({
      fs,
      stateDir,
      repo,
      timeoutMs: Math.min(remainingMs, cfg.timeouts.gitMs),
      env,
      signal,
    });
  // an early fetch no attempt will use (its identify failed) is called off, not waited for:
  // a git server that does not answer would otherwise hold the next attempt, or the exit, for
  // up to timeouts.git
  const callOff = new AbortController();
  let early: { attempt: number; fetching: Promise<FetchResult> } | undefined;
  const settled = (p: Promise<unknown> | undefined) =>
    p?.then(
      () => {},
      () => {},
    );

  try {
    const record = await runPipeline({
      mode,
      runId,
      bootId,
      pid: process.pid,
      plan: { metadata: cfg.endpoints.metadata !== "off", verify: cfg.repo.verify !== undefined },
      policy: cfg.retries,
      onFailure: cfg.lifecycle?.onFailure ?? "abandon",
      closeGateOnPeriodicFailure: cfg.periodic.closeGateOnFailure,
      stages: {
        identify: async (ctx) => {
          if (mode === "boot" && early === undefined) {
            early = {
              attempt: ctx.attempt,
              fetching: fetchNow(cfg.repo, ctx.remainingMs(), callOff.signal),
            };
            void settled(early.fetching); // awaited by the fetch stage, or below
          }
          try {
            await identifyStage(cfg)(ctx);
          } catch (err) {
            // no attempt will use it: called off and ended here, while the boot holds its lock
            // (a killed clone removes its checkout, which a later run must not see half done),
            // and not left running through the pause before the next attempt
            callOff.abort();
            await settled(early?.fetching);
            throw err;
          }
        },
        fetch: async ({ facts, attempt, remainingMs }) => {
          let fetching: Promise<FetchResult>;
          if (early?.attempt === attempt) fetching = early.fetching;
          else {
            callOff.abort();
            await settled(early?.fetching);
            // the commit from root's own copy of the gate record, never from the gate file (see
            // saveOpenedGate); the gate file says only whether the gate is still open
            const open = mode === "periodic" && readGate(fs, cfg.gate.file, bootId).state === "open";
            const ref = fetchRef(mode, cfg.repo, open ? openedOn(fs, stateDir, bootId) : undefined);
            fetching = fetchNow(ref === cfg.repo.ref ? cfg.repo : { ...cfg.repo, ref }, remainingMs());
          }
          preloadLifecycleClient();
          void loadSession();
          // a first boot compiles the recipes with esbuild: its process starts while git fetches
          // (a periodic run finds them compiled already, in its recipe cache)
          if (mode === "boot") void warmCompiler();
          const r = await fetching;
          timings.transferMs += r.transferMs;
          facts.checkout = { dir: r.dir, commit: r.commit, transferMs: r.transferMs };
        },
        verify: async ({ facts }) => {
          if (!cfg.repo.verify || !facts.checkout) return;
          await verifyCommit(
            fs,
            facts.checkout.dir,
            facts.checkout.commit,
            cfg.repo.verify.allowedSigners,
            env,
          );
        },
        deps: async ({ facts, remainingMs }) => {
          const npmCache = path.posix.join(stateDir, "npm-cache");
          ensurePrivateDir(fs, npmCache);
          const result = await installDependencies({
            dir: facts.checkout!.dir,
            cacheDir: fs.hostPath(npmCache),
            timeoutMs: Math.min(remainingMs(), cfg.timeouts.depsMs),
            env,
          });
          log.event("deps", { result });
        },
        role: async ({ facts }) => {
          facts.role = pickRole(facts.checkout!.dir, cfg.role.source, facts.identity, cfg.role.preference);
          say(`  role: ${facts.role}`);
        },
        converge: async ({ facts, remainingMs }) => {
          const started = Date.now();
          try {
            const id = facts.identity;
            const { convergeSession } = await loadSession();
            const report = await convergeSession({
              repoDir: facts.checkout!.dir,
              role: facts.role!,
              root: fs.root,
              environment: cfg.environment,
              attrFlags: cfg.attributes ? [cfg.attributes] : [],
              instance: id
                ? {
                    instanceId: id.instanceId,
                    availabilityZone: id.availabilityZone,
                    region: id.region,
                    securityGroups: id.securityGroups,
                    tags: id.tags,
                    targetLifecycleState: id.targetLifecycleState,
                  }
                : undefined,
              runId,
              reserved: [
                {
                  path: cfg.gate.file,
                  why: `is the gate file (gate.file in ${cfg.file}), which only the boot writes, last, once everything has succeeded`,
                },
              ],
              lockWaitMs: Math.min(remainingMs(), 60_000),
              env,
              onResult: opts.onResult,
              onProgress: (m) => say(`    ${m}`),
            });
            facts.report = report;
            saveConvergeReport(fs, stateDir, report);
            if (report.outcome !== "converged") {
              const failed = report.resources.find((r) => r.status === "failed");
              throw new RunError(
                failed
                  ? `${failed.id} failed: ${failed.error}`
                  : `converge failed: ${report.error ?? "unknown error"}`,
              );
            }
          } finally {
            timings.convergeMs += Date.now() - started;
          }
        },
        checks: async () => {
          await runChecks(cfg.checks);
        },
      },
      gate: {
        close: () => {
          closeGate(fs, cfg.gate.file);
        },
        isOpen: () => readGate(fs, cfg.gate.file, bootId).state === "open",
        open: (facts: Facts) => {
          const record: GateRecord = {
            gate: "open",
            bootId,
            role: facts.role!,
            configRevision: facts.checkout?.commit,
            appRevision: facts.report?.appRevision,
            instanceId: facts.identity?.instanceId,
            runId,
            openedAt: new Date().toISOString(),
          };
          saveOpenedGate(fs, stateDir, record);
          openGate(fs, cfg.gate.file, record);
          log.event("gate.opened", { file: cfg.gate.file });
        },
      },
      lock: async () => {
        const lockHost = fs.hostPath(BOOT_LOCK);
        try {
          const lock = await acquireLock(
            lockHost,
            mode === "periodic" ? 0 : cfg.retries.deadlineMs,
            "muster boot",
          );
          if (mode === "boot") {
            const cleared = clearLocksFromEarlierBoots([fs.hostPath(CONVERGE_LOCK)]);
            if (cleared.length) log.event("lock.cleared", { files: cleared });
          }
          return lock;
        } catch (err) {
          if (mode === "periodic" && err instanceof TimeoutError) return "busy";
          throw err;
        }
      },
      lifecycle,
      departing: async (facts) => {
        if (!facts.metadata) return undefined; // identify did not run (the metadata service is off)
        const signals = await readDepartureSignals(facts.metadata);
        return leavingBeforeService({
          targetState: signals.targetLifecycleState,
          spot: parseSpotNotice(signals.spotInstanceAction),
        });
      },
      reportFailure: failureReporter({ cfg, fs, env, log, say }),
      save: (r) => saveRecord(fs, stateDir, r),
      log: (event, fields) => {
        log.event(event, fields);
        opts.onEvent?.(event, fields);
      },
      say,
      now: Date.now,
      cpuMs: () => {
        const u = process.cpuUsage();
        return Math.round((u.user + u.system) / 1000);
      },
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: opts.random ?? Math.random,
      isPermanent: (err) => err instanceof InputError || err instanceof PermanentRunError,
    });
    return { exitCode: exitCode(record), record, config: cfg, timings };
  } finally {
    // an early fetch whose attempt failed in identify: its git ends before the run does
    callOff.abort();
    await settled(early?.fetching);
    log.close();
  }
}

/** A file's text, or undefined when it is absent or unreadable: a last fallback must not fail the call. */
function readIfReadable(fs: RootFs, p: string): string | undefined {
  try {
    return fs.readText(p);
  } catch {
    return undefined;
  }
}

/**
 * Where to complete `hook` for this instance (the launch hook for the boot, the terminate hook for
 * `muster watch`): the group, region and instance id from the config, metadata or cloud-init.
 */
export function hookTarget(
  cfg: BootConfig,
  fs: RootFs,
  env: Record<string, string | undefined>,
  hook: string,
  identity: Facts["identity"],
): LifecycleTarget {
  const t = lifecycleTargetFor({
    hook,
    group: cfg.lifecycle?.group,
    endpoint: cfg.endpoints.autoscaling,
    // the instance profile's keys come from the metadata service the identity comes from
    metadataEndpoint: cfg.endpoints.metadata === "off" ? undefined : cfg.endpoints.metadata,
    region: cfg.endpoints.region,
    timeoutMs: cfg.timeouts.lifecycleMs,
    identity,
    cloudInitInstanceId: fs.readText(CLOUD_INIT_INSTANCE_ID),
    env: { AWS_REGION: env.AWS_REGION, AWS_DEFAULT_REGION: env.AWS_DEFAULT_REGION },
    cloudInitInstanceData: readIfReadable(fs, CLOUD_INIT_INSTANCE_DATA),
  });
  if ("problem" in t) throw new RunError(t.problem);
  return t.target;
}

/** The Auto Scaling side of a boot: heartbeats while it runs, CONTINUE or ABANDON at the end. */
function lifecyclePort(
  cfg: BootConfig,
  fs: RootFs,
  env: Record<string, string | undefined>,
  log: RunLog,
  say: (l: string) => void,
): LifecyclePort {
  const lc = cfg.lifecycle!;
  const target = (facts: Facts): LifecycleTarget => hookTarget(cfg, fs, env, lc.hook!, facts.identity);
  return {
    async complete(result, facts) {
      const t = target(facts);
      try {
        await completeLifecycleAction({ ...t, result });
        log.event("lifecycle.complete", { result, group: t.group, hook: t.hook, instanceId: t.instanceId });
        say(`  lifecycle action completed: ${result}`);
        return "completed";
      } catch (err) {
        // Nothing waits on the hook: a manual re-run on a server in service, or the heartbeat
        // timeout passed and the group applied its default result already.
        if (/No active Lifecycle Action/i.test(describeError(err))) {
          log.event("lifecycle.none", { result, error: describeError(err) });
          say(
            `  lifecycle: no action is waiting for this instance (its heartbeat timeout passed, or no hook launched it): the group's default result decided`,
          );
          return "none";
        }
        throw err;
      }
    },
    startHeartbeats(facts) {
      let t: LifecycleTarget;
      try {
        t = target(facts);
      } catch (err) {
        log.event("heartbeat.error", { error: describeError(err) });
        return undefined;
      }
      return startHeartbeats(t, Math.max(1, lc.heartbeatIntervalMs), {
        onBeat: () => log.event("heartbeat", { hook: t.hook }),
        onError: (err) => log.event("heartbeat.error", { error: describeError(err) }),
      });
    },
  };
}
