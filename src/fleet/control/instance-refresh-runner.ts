/**
 * The local fleet's launch template versions and instance refreshes: the effect side of
 * instance-refresh.ts. In the rehearsal a launch template version is a config ref: version 1 is
 * fleet.yaml's repositories.ref, and each `muster fleet refresh --ref REV` adds one carrying REV
 * resolved to a commit (a pinned ref, so a rollback returns to exactly what ran before). New
 * instances boot the ref of the version the group stamps on them (AsgInstance.version).
 *
 * It keeps the refreshes (newest last), answers the Auto Scaling API's refresh actions
 * (InstanceRefreshApi), and after every model step turns advanceRefresh's commands into model
 * events through `dispatch`.
 */
import { randomUUID } from "node:crypto";
import type { AsgEvent, AsgState } from "../aws/asg-model.ts";
import { QueryError, validationError } from "../aws/autoscaling-xml.ts";
import {
  advanceRefresh,
  beginRollback,
  cancelRefresh,
  DEFAULT_PREFERENCES,
  type InstanceRefresh,
  isActive,
  newRefresh,
  nextRefreshDeadline,
  type RefreshCommand,
  type RefreshPreferences,
  type RefreshStep,
} from "../aws/instance-refresh.ts";
import {
  activeRefreshNotFound,
  type InstanceRefreshApi,
  type InstanceRefreshView,
  type LaunchTemplateRef,
  refreshInProgress,
  type StartRefreshRequest,
} from "../aws/instance-refresh-actions.ts";

export interface LaunchTemplateVersion {
  version: number;
  /** the config ref as given */
  ref: string;
  /** the commit it named when the version was made (fleet.yaml's first version: resolved at fleet up) */
  commit?: string;
  createdAt: number;
}

export interface RefreshHost {
  group: string;
  template: { id: string; name: string };
  state(): AsgState;
  dispatch(e: AsgEvent): void;
  note(message: string): void;
}

export class InstanceRefreshRunner implements InstanceRefreshApi {
  readonly versions: LaunchTemplateVersion[] = [];
  /** the group's own launch template version (what it launches outside a refresh) */
  groupVersion = 1;
  private readonly refreshes: InstanceRefresh[] = [];
  /** the launch template each refresh asked for, as given (DescribeInstanceRefreshes shows it) */
  private readonly asked = new Map<string, LaunchTemplateRef>();

  /** fleet.yaml's launch template version ($Default, $Latest or a number): version 1's label */
  private readonly firstLabel: string;

  constructor(
    private readonly host: RefreshHost,
    first: { ref: string; commit?: string; label: string },
  ) {
    this.firstLabel = first.label;
    this.versions.push({ version: 1, ref: first.ref, commit: first.commit, createdAt: Date.now() });
  }

  /**
   * The version as the API shows it: version 1 as fleet.yaml names it; later ones numbered on
   * from it (from 2 when fleet.yaml names $Default or $Latest).
   */
  label(v: number): string {
    const n = /^\d+$/.test(this.firstLabel) ? Number(this.firstLabel) : undefined;
    if (v === 1) return this.firstLabel;
    return String(n === undefined ? v : n + v - 1);
  }

  /** A new launch template version carrying `ref` (resolved to `commit`). */
  addVersion(ref: string, commit: string): LaunchTemplateVersion {
    const v = { version: this.versions.length + 1, ref, commit, createdAt: Date.now() };
    this.versions.push(v);
    return v;
  }

  version(n: number | undefined): LaunchTemplateVersion {
    return this.versions[(n ?? this.groupVersion) - 1] ?? this.versions[0]!;
  }

  active(): InstanceRefresh | undefined {
    const last = this.refreshes.at(-1);
    return last && isActive(last) ? last : undefined;
  }

  /** The launch template version a request names ($Latest, $Default, or a number). */
  private resolveTemplate(lt: LaunchTemplateRef): number {
    const t = this.host.template;
    if ((lt.id && lt.id !== t.id) || (lt.name && lt.name !== t.name))
      throw validationError(
        `The launch template ${lt.id ?? lt.name} is not the group's (${t.name}, ${t.id}); the rehearsal has one launch template.`,
      );
    const v = lt.version ?? "$Default";
    if (v === "$Latest") return this.versions.length;
    if (v === "$Default") return this.groupVersion;
    const n = this.versions.find((x) => this.label(x.version) === v)?.version;
    if (n === undefined)
      throw validationError(
        `The specified launch template version ${v} does not exist for launch template ${t.name} (versions ${this.versions.map((x) => this.label(x.version)).join(", ")}).`,
      );
    return n;
  }

  start(req: StartRefreshRequest): string {
    const s = this.host.state();
    if (req.group !== s.config.name)
      throw validationError(`AutoScalingGroup name not found - AutoScalingGroup '${req.group}' not found`);
    if (this.active()) throw refreshInProgress();
    const { maxHealthyPercentage, ...given } = req.preferences;
    if (maxHealthyPercentage !== undefined && maxHealthyPercentage !== 100)
      throw validationError(
        `MaxHealthyPercentage ${maxHealthyPercentage}: the local fleet rehearses AWS's default (terminate, then launch: 100) only.`,
      );
    const preferences: RefreshPreferences = {
      ...DEFAULT_PREFERENCES,
      checkpointPercentages: [],
      // AWS: the group's default instance warmup, else its health check grace period
      instanceWarmupMs: s.config.healthCheckGracePeriodMs,
      ...given,
    };
    if (preferences.checkpointPercentages.length && given.checkpointDelayMs === undefined)
      preferences.checkpointDelayMs = DEFAULT_PREFERENCES.checkpointDelayMs;
    const lt = req.desiredConfiguration?.launchTemplate;
    const desiredVersion = lt ? this.resolveTemplate(lt) : this.groupVersion;
    const r = newRefresh({
      id: randomUUID(),
      state: s,
      preferences,
      desiredVersion,
      previousVersion: this.groupVersion,
      now: Date.now(),
    });
    if (lt)
      this.asked.set(r.id, {
        id: this.host.template.id,
        name: this.host.template.name,
        version: String(desiredVersion),
      });
    this.refreshes.push(r);
    this.host.note(
      `instance refresh ${r.id} started: ${r.toReplace.length} instances to launch template version ${desiredVersion} (config ${this.version(desiredVersion).ref}), MinHealthyPercentage ${preferences.minHealthyPercentage}, warmup ${preferences.instanceWarmupMs / 1000} s${preferences.checkpointPercentages.length ? `, checkpoints ${preferences.checkpointPercentages.join(",")} (${preferences.checkpointDelayMs / 1000} s)` : ""}${preferences.autoRollback ? ", auto rollback" : ""}`,
    );
    queueMicrotask(() => this.advance());
    return r.id;
  }

  list(group: string): InstanceRefreshView[] {
    if (group !== this.host.state().config.name)
      throw validationError(`AutoScalingGroup name not found - AutoScalingGroup '${group}' not found`);
    return [...this.refreshes].reverse().map((r) => ({
      id: r.id,
      group: r.group,
      status: r.status,
      statusReason: r.statusReason,
      startTime: r.startTime,
      endTime: r.endTime,
      percentageComplete: r.percentageComplete,
      instancesToUpdate: r.instancesToUpdate,
      preferences: r.preferences,
      desiredConfiguration: this.asked.has(r.id) ? { launchTemplate: this.asked.get(r.id)! } : undefined,
      rollback: r.rollback,
    }));
  }

  cancel(group: string): string {
    const r = this.activeOf(group);
    this.apply(r, cancelRefresh(r));
    return r.id;
  }

  rollback(group: string): string {
    const r = this.activeOf(group);
    if (!this.asked.has(r.id))
      throw new QueryError(
        400,
        "IrreversibleInstanceRefresh",
        "The request failed because a desired configuration was not found: only a refresh started with a DesiredConfiguration can be rolled back.",
      );
    if (r.status === "Cancelling" || r.status === "RollbackInProgress") throw activeRefreshNotFound(group);
    this.apply(
      r,
      beginRollback(r, this.host.state(), "Manual rollback: RollbackInstanceRefresh.", Date.now()),
    );
    return r.id;
  }

  private activeOf(group: string): InstanceRefresh {
    const r = this.active();
    if (!r || group !== this.host.state().config.name) throw activeRefreshNotFound(group);
    return r;
  }

  /** Move the active refresh on (after a model step, or at its deadline). */
  advance(): void {
    const r = this.active();
    if (r) this.apply(r, advanceRefresh(r, this.host.state(), Date.now()));
  }

  nextDeadline(): number | undefined {
    const r = this.active();
    return r ? nextRefreshDeadline(r, this.host.state(), Date.now()) : undefined;
  }

  private apply(before: InstanceRefresh, step: RefreshStep): void {
    const i = this.refreshes.indexOf(before);
    this.refreshes[i] = step.refresh;
    const r = step.refresh;
    if (r.status !== before.status || r.statusReason !== before.statusReason)
      this.host.note(`instance refresh ${r.id}: ${r.status}${r.statusReason ? `: ${r.statusReason}` : ""}`);
    for (const c of step.commands) this.perform(c);
  }

  private perform(c: RefreshCommand): void {
    switch (c.type) {
      case "replace":
        this.host.dispatch({ type: "refresh-replace", instanceId: c.instanceId, cause: c.cause });
        return;
      case "launch-version":
        this.host.dispatch({ type: "set-launch-version", version: c.version, fallback: c.fallback });
        return;
      case "group-version":
        this.groupVersion = c.version;
        this.host.note(
          `launch template version ${c.version} (config ${this.version(c.version).ref}) is the group's now`,
        );
        return;
      case "note":
        this.host.note(c.message);
        return;
    }
  }
}
