/**
 * An in-progress scale, PURE: the group's desired capacity against the instances that are
 * InService and those on their way in or out, as the dashboard's progress bar and
 * `muster fleet status --watch` show it. Undefined when the group is where it wants to be.
 */

export interface ScaleInput {
  desired: number;
  instances: { state: string }[];
}

export interface ScaleProgress {
  direction: "out" | "in";
  desired: number;
  inService: number;
  /** launched, not yet InService */
  coming: number;
  /** on their way out (Terminating, its hook and Terminating:Proceed) */
  going: number;
  /** 0..1 */
  fraction: number;
  text: string;
}

export function scaleProgress(g: ScaleInput): ScaleProgress | undefined {
  const inService = g.instances.filter((i) => i.state === "InService").length;
  const coming = g.instances.filter((i) => i.state.startsWith("Pending")).length;
  const going = g.instances.filter((i) => i.state.startsWith("Terminating")).length;
  if (inService === g.desired && coming === 0 && going === 0) return undefined;
  if (inService < g.desired || coming > 0) {
    const fraction = g.desired === 0 ? 1 : Math.min(1, inService / g.desired);
    return {
      direction: "out",
      desired: g.desired,
      inService,
      coming,
      going,
      fraction,
      text: `scaling out to ${g.desired}: ${inService} of ${g.desired} InService, ${coming} on the way in`,
    };
  }
  const total = inService + going;
  return {
    direction: "in",
    desired: g.desired,
    inService,
    coming,
    going,
    fraction: total === 0 ? 1 : Math.min(1, g.desired / total),
    text: `scaling in to ${g.desired}: ${inService} InService, ${going} on the way out`,
  };
}
