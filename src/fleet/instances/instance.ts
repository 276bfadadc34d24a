/**
 * src/fleet/instances/: one sandboxed instance and what it is made of: its life (this module),
 * the environment and files written for it (instance-env.ts, instance-files.ts), the checks that
 * instances can start at all (address-check.ts: their loopback addresses free; node-options.ts:
 * NODE_OPTIONS that node accepts) and the fleet's processes as /proc shows them (processes.ts).
 * More of what an EC2 instance has lands here.
 *
 * One sandboxed instance of the local fleet: its own root directory (copied from the image), its
 * own loopback address, its own metadata service listener on that address, and its init: the
 * service supervisor (`muster supervise --root ROOT`, which keeps the instance's services
 * running as systemd would, muster's health endpoint among them, in its own process) and the
 * boot, run exactly as muster-boot.service runs it on a host (ExecStartPre removes the gate,
 * ExecStart is `muster boot --root ROOT`). The two start together, as an init starts its units
 * in parallel: the boot does not need the supervisor until its converge starts a service, and then
 * waits for it (the supervisor's info file names it from the moment it is spawned). A web server
 * in front of the app (nginx) is started after the boot, as the unit's Before= orders it on a host.
 * Both start with the environment systemd gives a service (instance-env.ts), not the daemon's.
 *
 * Terminating an instance stops every process it has: the boot, the supervisor and its services,
 * and anything else still running from its directory. Killing it (a fault) does the same with
 * SIGKILL and no warning, and the controller hears about it as the supervisor's death.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, rmSync } from "node:fs";
import { cp } from "node:fs/promises";
import * as path from "node:path";
import { type BootRecord, readRecord } from "../../boot/state.ts";
import { errorMessage, RunError, TimeoutError } from "../../core/errors.ts";
import { closeGate, readGate } from "../../gate/gate-file.ts";
import type { GateVerdict } from "../../gate/gate-state.ts";
import { resolveCommand } from "../../host/command-path.ts";
import { readTail } from "../../host/host-files.ts";
import { replaceFile } from "../../host/replace-file.ts";
import { RootFs } from "../../host/root-fs.ts";
import { openAppendNoFollow, replaceNoFollow } from "../../host/write-no-follow.ts";
import {
  noteStartingSupervisor,
  removeDeadSupervisorSocket,
  SupervisorDown,
  supervisorRequest,
  supervisorStatus,
} from "../../providers/supervisor-client.ts";
import { definitionPath, definitionText, enabledMarker } from "../../providers/supervisor-policy.ts";
import {
  type EmulatedInstance,
  type InstanceProfile,
  type MetadataEmulator,
  type MetadataFault,
  startMetadataEmulator,
} from "../aws/metadata-emulator.ts";
import { targetLifecycleState } from "../aws/target-lifecycle-state.ts";
import type { FleetConfig } from "../control/fleet-config.ts";
import { instanceEnvironment } from "./instance-env.ts";
import {
  gateFileFor,
  healthService,
  INSTANCE_CONSOLE,
  instanceBootConfig,
  nginxConf,
  nginxDirs,
  nginxService,
  unitCommands,
  watchService,
} from "./instance-files.ts";
import { instanceProcesses, type PidRecord, procStart, signal, stillRunning, waitGone } from "./processes.ts";

export interface InstanceOptions {
  id: string;
  address: string;
  /** the instance's boot id (each launch is a fresh boot) */
  bootId: string;
  /** STATE/instances/<id>; the root is <dir>/root */
  dir: string;
  cfg: FleetConfig;
  /** the tree the root is copied from (its run/ is left out: a tmpfs on a real host) */
  imageDir?: string;
  autoscalingUrl: string;
  /** the fleet's CloudWatch Logs emulator */
  logsUrl?: string;
  /** where the group placed it (the metadata service's placement/availability-zone) */
  availabilityZone?: string;
  /** the instance's role: its metadata service serves the role's keys */
  instanceProfile?: InstanceProfile;
  configRepoUrl: string;
  appRepoUrl: string;
  /** node and muster's bin/muster.js, as `muster install` would put them in the units */
  node: string;
  musterBin: string;
  metadataFault?: MetadataFault;
  /** the instance's processes, as it starts them */
  onProcess?: (r: PidRecord) => void;
  /** the boot finished (code 0: the gate is open) */
  onBootExit?: (code: number | null, signal: string | null) => void;
  /** the supervisor (the instance's init) is gone without being asked to stop */
  onDied?: (reason: string) => void;
  log?: (message: string) => void;
}

const STOP_TIMEOUT_MS = 15_000;

const BOOT_GRACE_MS = 1500;

/** The directories of the node running the daemon and of the git it finds. */
function daemonToolDirs(): string[] {
  const git = resolveCommand("git", process.env.PATH);
  return [path.dirname(process.execPath), ...(git ? [path.dirname(git)] : [])];
}

/**
 * The environment of an instance's processes (instance-env.ts): systemd's for a service, with
 * PATH still finding the daemon's node and git, and fleet.yaml's instances.environment.
 */
function instanceEnv(o: InstanceOptions, root: string): NodeJS.ProcessEnv {
  return instanceEnvironment({
    inherited: process.env,
    toolDirs: daemonToolDirs(),
    root,
    bootId: o.bootId,
    extra: o.cfg.instances.environment,
  });
}

export class FleetInstance {
  readonly id: string;
  readonly address: string;
  readonly bootId: string;
  readonly dir: string;
  readonly root: string;
  readonly gateFile: string;
  metadata?: MetadataEmulator;
  /**
   * What its metadata service is to say of it, kept here too: the group may move it on (a
   * termination that starts while it is Pending) before its listener is up, and the listener
   * then starts with what was said meanwhile, not with what was true at launch.
   */
  private served: Partial<Pick<EmulatedInstance, "targetLifecycleState" | "spotInstanceAction">> = {
    targetLifecycleState: targetLifecycleState("Pending"),
  };
  bootStartedAt?: number;
  bootExit?: { code: number | null; signal: string | null; at: number };
  /** every process it started, with start times (pids get reused) */
  readonly processes: PidRecord[] = [];
  private supervisor?: ChildProcess;
  /** settles once the supervisor answers (or failed to) */
  private supervisorUp?: Promise<void>;
  private boot?: ChildProcess;
  private launching?: Promise<void>;
  private stopping?: Promise<void>;
  private dead = false;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly o: InstanceOptions) {
    this.id = o.id;
    this.address = o.address;
    this.bootId = o.bootId;
    this.dir = o.dir;
    this.root = path.join(o.dir, "root");
    this.gateFile = gateFileFor(o.cfg);
    this.env = instanceEnv(o, this.root);
  }

  private log(m: string): void {
    this.o.log?.(m);
  }

  private record(pid: number | undefined, role: string): void {
    if (!pid || this.processes.some((p) => p.pid === pid && p.role === role)) return;
    const r: PidRecord = { pid, start: procStart(pid), role: `${this.id} ${role}` };
    this.processes.push(r);
    this.o.onProcess?.(r);
  }

  /**
   * Make the root, start the metadata listener and spawn the supervisor. Resolves once the
   * supervisor is spawned, not when it answers: the boot starts alongside it. A supervisor that
   * exits, or does not answer within 15 s, is the instance's death (onDied).
   */
  launch(): Promise<void> {
    this.launching ??= this.doLaunch();
    return this.launching;
  }

  private async doLaunch(): Promise<void> {
    const { cfg } = this.o;
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    if (this.o.imageDir) {
      const run = path.join(this.o.imageDir, "run");
      // asynchronously: the load balancer runs in the same process and must not wait for a copy
      await cp(this.o.imageDir, this.root, {
        recursive: true,
        verbatimSymlinks: true,
        filter: (src) => src !== run && !src.startsWith(`${run}/`),
      });
    } else mkdirSync(this.root);
    const fs = new RootFs(this.root);

    this.metadata = await startMetadataEmulator({
      host: this.address,
      port: 0,
      instances: [
        {
          instanceId: this.id,
          address: this.address,
          securityGroups: cfg.role.securityGroups,
          // in metadata only when the launch template allows it (instances.metadataTags), as on AWS
          tags: cfg.instances.metadataTags
            ? { ...cfg.role.tags, "aws:autoscaling:groupName": cfg.group.name, Name: cfg.group.name }
            : undefined,
          ...this.served,
          localIpv4: this.address,
          instanceType: cfg.group.instanceType,
          ...(this.o.availabilityZone ? { availabilityZone: this.o.availabilityZone } : {}),
          marketType: cfg.instances.marketType,
          ...(this.o.instanceProfile ? { iam: this.o.instanceProfile } : {}),
        },
      ],
      defaultInstanceId: this.id,
    });
    // what the group said while the listener started
    this.metadata.updateInstance(this.id, this.served);
    if (this.o.metadataFault) await this.metadata.setFault(this.o.metadataFault);

    const write = (p: string, text: string, mode = 0o644) => {
      if (!fs.stat(path.posix.dirname(p))) fs.mkdir(path.posix.dirname(p), 0o755, true);
      // no fsync: the root is made afresh at every launch, and twenty launches at once would
      // each wait on the disk in the daemon's event loop
      replaceFile(fs, p, text, mode);
    };
    const boot = instanceBootConfig(cfg, {
      address: this.address,
      metadataUrl: this.metadata.url,
      autoscalingUrl: this.o.autoscalingUrl,
      logsUrl: this.o.logsUrl,
      configRepoUrl: this.o.configRepoUrl,
      appRepoUrl: this.o.appRepoUrl,
    });
    // as `muster install --config` puts it there: it may hold credentials
    write("/etc/muster/boot.json", `${JSON.stringify(boot, null, 2)}\n`, 0o600);
    // the console a failed boot writes its record to: empty at every launch, as a new machine's
    write(INSTANCE_CONSOLE, "", 0o600);
    // what cloud-init records on EC2: the boot can still abandon when metadata does not answer
    write("/var/lib/cloud/data/instance-id", `${this.id}\n`);
    const cmds = this.commands();
    if (cfg.instances.webServer === "nginx") {
      for (const d of nginxDirs(this.root)) mkdirSync(d, { recursive: true });
      replaceNoFollow(
        path.join(this.root, "etc/nginx/fleet.conf"),
        nginxConf({
          hostRoot: this.root,
          address: this.address,
          webPort: cfg.instances.webPort,
          appPort: cfg.instances.appPort,
          gateFile: this.gateFile,
          user: process.getuid?.() === 0 ? "root" : undefined,
        }),
      );
      write(definitionPath("nginx"), definitionText(nginxService(cfg.instances.nginx, this.root)));
    } else {
      // muster-health.service is enabled on the image: it starts with the instance
      write(definitionPath("muster-health"), definitionText(healthService(cmds.health, this.bootId)));
      write(enabledMarker("muster-health"), "");
    }

    // muster-watch.service: started after the boot (afterBoot), as its unit's After= orders it
    write(definitionPath("muster-watch"), definitionText(watchService(cmds.watch, this.bootId)));

    // the init: the supervisor, which starts the enabled services and keeps them running
    const logDir = path.join(this.root, "var/log/muster");
    mkdirSync(logDir, { recursive: true });
    const out = openAppendNoFollow(path.join(logDir, "supervisor.out"));
    let exited: string | undefined;
    try {
      this.supervisor = spawn(this.o.node, [this.o.musterBin, "supervise", "--root", this.root], {
        cwd: "/",
        detached: true,
        stdio: ["ignore", out, out],
        env: this.env,
      });
    } finally {
      closeSync(out);
    }
    const sup = this.supervisor;
    sup.on("error", (err) => {
      exited = err.message;
      this.onSupervisorExit(`could not start: ${exited}`);
    });
    sup.on("exit", (code, sig) => {
      exited = sig ? `killed by ${sig}` : `exited with code ${code}`;
      this.onSupervisorExit(exited);
    });
    this.record(sup.pid, "supervisor");
    if (exited !== undefined)
      throw new RunError(`the supervisor of ${this.id} ${exited} (log: ${logDir}/supervisor.out)`);
    if (sup.pid) noteStartingSupervisor(this.root, sup.pid);
    this.supervisorUp = this.waitForSupervisor(() => exited).then(
      () => void this.noteServices(),
      (err) => {
        if (this.stopping || this.dead) return;
        this.log(`${this.id}: ${errorMessage(err)}`);
        if (sup.pid) signal(sup.pid, "SIGKILL"); // its exit reports the instance's death
      },
    );
  }

  private async waitForSupervisor(exited: () => string | undefined): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (exited() !== undefined || this.stopping || this.dead) return;
      try {
        await supervisorRequest(this.root, { op: "ping" }, 2000);
        return;
      } catch (err) {
        if (!(err instanceof SupervisorDown) && !(err instanceof TimeoutError)) throw err;
      }
      if (Date.now() > deadline)
        throw new TimeoutError(`the supervisor of ${this.id} did not answer within 15 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private commands() {
    return unitCommands({
      node: this.o.node,
      muster: this.o.musterBin,
      root: this.root,
      gateFile: this.gateFile,
      deadline: this.o.cfg.instances.boot.deadline,
    });
  }

  private onSupervisorExit(how: string): void {
    if (this.dead) return;
    this.dead = true;
    if (!this.stopping) {
      this.log(`${this.id}: its init (the supervisor) ${how}`);
      this.o.onDied?.(`its init (the supervisor) ${how}`);
    }
  }

  /** Run the boot as muster-boot.service does: ExecStartPre, then ExecStart. */
  startBoot(): void {
    if (this.boot || this.stopping || this.dead) return;
    const cmds = this.commands();
    const logFile = path.join(this.root, "var/log/muster/boot.out");
    this.bootStartedAt = Date.now();
    const run = (argv: string[], role: string): ChildProcess => {
      const out = openAppendNoFollow(logFile);
      try {
        const child = spawn(argv[0]!, argv.slice(1), {
          cwd: "/",
          detached: true,
          stdio: ["ignore", out, out],
          env: this.env,
        });
        this.record(child.pid, role);
        return child;
      } finally {
        closeSync(out);
      }
    };
    const pre = run(cmds.bootPre, "boot:pre");
    this.boot = pre;
    const finish = (code: number | null, sig: string | null) => {
      this.bootExit = { code, signal: sig, at: Date.now() };
      this.boot = undefined;
      this.o.onBootExit?.(code, sig);
      if (!this.stopping && !this.dead) void this.afterBoot();
    };
    pre.on("error", (err) => finish(127, errorMessage(err)));
    pre.on("exit", (code, sig) => {
      if (this.stopping || this.dead) return finish(code, sig);
      if (code !== 0) return finish(code, sig); // systemd: a failed ExecStartPre fails the unit
      const b = run(cmds.boot, "boot");
      this.boot = b;
      b.on("error", (err) => finish(127, errorMessage(err)));
      b.on("exit", (c, s) => finish(c, s));
    });
  }

  /**
   * After the boot: the web server the boot unit is ordered before, and the departure watch
   * (muster-watch.service, ordered after it); note the services' pids.
   */
  private async afterBoot(): Promise<void> {
    await this.supervisorUp;
    if (this.stopping || this.dead) return;
    try {
      await supervisorRequest(this.root, { op: "start", name: "muster-watch" }, 15_000);
    } catch (err) {
      this.log(`${this.id}: muster watch did not start: ${errorMessage(err)}`);
    }
    if (this.o.cfg.instances.webServer === "nginx") {
      try {
        await supervisorRequest(this.root, { op: "start", name: "nginx" }, 15_000);
      } catch (err) {
        this.log(`${this.id}: nginx did not start: ${errorMessage(err)}`);
      }
    }
    await this.noteServices();
  }

  /** Record the pids of the supervisor's services (the app, nginx, the health endpoint). */
  async noteServices(): Promise<void> {
    try {
      const services = await supervisorStatus(this.root);
      for (const s of Object.values(services ?? {})) if (s.pid) this.record(s.pid, `service ${s.name}`);
    } catch {}
  }

  get running(): boolean {
    return !this.dead && this.supervisor !== undefined;
  }

  get bootRunning(): boolean {
    return this.boot !== undefined;
  }

  gate(): GateVerdict {
    return readGate(new RootFs(this.root), this.gateFile, this.bootId);
  }

  bootRecord(): BootRecord | undefined {
    try {
      return readRecord(new RootFs(this.root), "/var/lib/muster");
    } catch {
      return undefined;
    }
  }

  /** Close the gate (`muster gate close`): its health check fails from now on. */
  breakHealth(): void {
    closeGate(new RootFs(this.root), this.gateFile);
  }

  /** EC2 announces a spot interruption: `spot/instance-action` answers from now on. */
  announceSpotInterruption(action: { action: "terminate"; time: string }): void {
    this.serve({ spotInstanceAction: action });
  }

  /** The group moved it on: autoscaling/target-lifecycle-state answers `state` from now on. */
  setTargetLifecycleState(state: string): void {
    this.serve({ targetLifecycleState: state });
  }

  private serve(change: Partial<EmulatedInstance>): void {
    this.served = { ...this.served, ...change };
    this.metadata?.updateInstance(this.id, change);
  }

  async setMetadataFault(fault: MetadataFault | undefined): Promise<void> {
    this.o.metadataFault = fault;
    await this.metadata?.setFault(fault);
  }

  /** The machine is gone: SIGKILL everything, no warning (fault "kill"). */
  kill(): void {
    for (const p of this.liveProcesses()) signal(p.pid, "SIGKILL");
  }

  /** Processes of this instance that still run: recorded ones and any found under its directory. */
  liveProcesses(): PidRecord[] {
    const recorded = stillRunning(this.processes);
    const found = instanceProcesses(
      this.dir,
      recorded.map((r) => r.pid),
    ).map((p) => ({
      pid: p.pid,
      start: p.start,
      role: `${this.id} process`,
    }));
    const all = [...recorded];
    for (const f of found) if (!all.some((a) => a.pid === f.pid)) all.push(f);
    return all;
  }

  /** What its console shows (the end of it, as `get-console-output` returns the last 64 KB). */
  consoleOutput(): string {
    return readTail(path.join(this.root, INSTANCE_CONSOLE), 64 * 1024);
  }

  /** Stop every process of the instance; resolves when none is left. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    try {
      await this.launching;
    } catch {}
    // a boot that has just completed its lifecycle action is writing its last record: give it
    // a moment to finish, as a shutdown gives a unit before SIGTERM matters
    if (this.boot) await waitGone(this.boot.pid ? [{ pid: this.boot.pid, role: "boot" }] : [], BOOT_GRACE_MS);
    const boot = this.boot;
    if (boot?.pid) {
      signal(boot.pid, "SIGTERM");
      const left = await waitGone([{ pid: boot.pid, role: "boot" }], 5000);
      if (left.length) signal(boot.pid, "SIGKILL");
    }
    await this.noteServices();
    if (this.supervisor && !this.dead) {
      try {
        await supervisorRequest(this.root, { op: "shutdown" }, 5000);
      } catch {
        if (this.supervisor.pid) signal(this.supervisor.pid, "SIGTERM");
      }
      const left = await waitGone(
        this.supervisor.pid ? [{ pid: this.supervisor.pid, role: "supervisor" }] : [],
        STOP_TIMEOUT_MS,
      );
      if (left.length) signal(left[0]!.pid, "SIGKILL");
    }
    this.dead = true;
    // anything still running from the instance's directory (a service's child, a git process)
    let left = this.liveProcesses();
    for (const p of left) signal(p.pid, "SIGKILL");
    left = await waitGone(left, 5000);
    // a supervisor that was killed (how an instance dies) left its socket file
    removeDeadSupervisorSocket(this.root);
    await this.metadata?.close().catch(() => {});
    if (left.length)
      throw new RunError(
        `${this.id}: ${left.length} process${left.length > 1 ? "es" : ""} did not stop: ${left.map((p) => `${p.pid} (${p.role})`).join(", ")}`,
      );
  }
}
