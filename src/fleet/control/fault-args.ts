/**
 * A fault as the command line names it (`muster fleet fault KIND [VALUE]`), PURE: the CLI and
 * the dashboard's fault control both ask for one this way, so both refuse the same mistakes
 * with the same words.
 */
import { InputError } from "../../core/errors.ts";
import type { FleetFault } from "./controller.ts";

const MAX_FAULT_DELAY_MS = 3_600_000;

/** The fault a command line asks for. */
export function parseFault(kind: string, value: string | undefined): FleetFault {
  const ms = () => {
    if (value === undefined || !/^\d+$/.test(value))
      throw new InputError(
        `fleet fault ${kind}: give the delay in milliseconds, e.g. \`muster fleet fault ${kind} 3000\` (0 clears it)`,
      );
    // timers take at most 2^31 - 1 ms (Node fires a longer one at once); an hour is plenty
    if (Number(value) > MAX_FAULT_DELAY_MS)
      throw new InputError(
        `fleet fault ${kind}: ${value} ms is more than an hour; give at most ${MAX_FAULT_DELAY_MS} (0 clears it)`,
      );
    return Number(value);
  };
  const instance = () => {
    if (!value)
      throw new InputError(`fleet fault ${kind}: name the instance, e.g. \`muster fleet fault ${kind} 3\``);
    return value;
  };
  const none = () => {
    if (value !== undefined) throw new InputError(`fleet fault ${kind}: takes no value (got "${value}")`);
  };
  switch (kind) {
    case "git-down":
      none();
      return { kind };
    case "git-up":
      none();
      return { kind };
    case "git-slow":
      return { kind, ms: ms() };
    case "metadata-slow":
      return { kind, ms: ms() };
    case "kill":
      return { kind, instance: instance() };
    case "break-health":
      return { kind, instance: instance() };
    case "spot-interrupt":
      return { kind, instance: instance() };
    default:
      throw new InputError(
        `fleet fault ${kind}: unknown fault; use git-down, git-up, git-slow MS, metadata-slow MS, kill INSTANCE, break-health INSTANCE or spot-interrupt INSTANCE`,
      );
  }
}
