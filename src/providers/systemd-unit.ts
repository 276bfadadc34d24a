/** systemd's side, pure: the unit file muster writes and what systemctl's answers mean. */
import type { ServiceUnit } from "../resources/service-schema.ts";
import { splitCommand } from "./supervisor-policy.ts";

export const UNIT_DIR = "/etc/systemd/system";

export function unitFileName(name: string): string {
  return name.endsWith(".service") ? name : `${name}.service`;
}

/** `%` starts a specifier in every unit setting; `%%` is a literal one. */
const specifiers = (s: string) => s.replaceAll("%", "%%");

/** One ExecStart word: bare when it is plain, else double-quoted with C-style escapes. */
export function quoteExecArg(arg: string): string {
  // ExecStart expands $VAR and ${VAR}; $$ is a literal dollar
  const s = specifiers(arg).replaceAll("$", () => "$$"); // a function: "$$" as a string means "$"
  if (arg === ";") return "\\;"; // a lone ; separates commands
  if (/^[A-Za-z0-9_@+=:,./%$-]+$/.test(s)) return s;
  return `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`;
}

/** Environment="KEY=value": quoted, backslash and quote escaped (no $ expansion there). */
function environmentLine(key: string, value: string): string {
  return `Environment="${specifiers(`${key}=${value}`).replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

export function renderUnit(name: string, resourceId: string, u: ServiceUnit): string {
  const argv = typeof u.execStart === "string" ? splitCommand(u.execStart) : u.execStart;
  const lines = [
    `# Written by muster from ${resourceId}: edits here are overwritten.`,
    "[Unit]",
    `Description=${specifiers(u.description ?? `${name} (managed by muster)`)}`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${argv.map(quoteExecArg).join(" ")}`,
  ];
  if (u.workingDirectory) lines.push(`WorkingDirectory=${specifiers(u.workingDirectory)}`);
  for (const [k, v] of Object.entries(u.environment ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)))
    lines.push(environmentLine(k, v));
  if (u.environmentFile) lines.push(`EnvironmentFile=${specifiers(u.environmentFile)}`);
  if (u.user !== undefined) lines.push(`User=${u.user}`);
  if (u.group !== undefined) lines.push(`Group=${u.group}`);
  lines.push(`Restart=${u.restart ?? "on-failure"}`, "RestartSec=1");
  if (u.reloadSignal) lines.push(`ExecReload=/bin/kill -s ${u.reloadSignal.replace(/^SIG/, "")} $MAINPID`);
  lines.push("", "[Install]", "WantedBy=multi-user.target", "");
  return lines.join("\n");
}

/** `systemctl is-active`: active (and reloading, activating) counts as running. */
export function parseIsActive(stdout: string): boolean {
  const state = stdout.trim().split("\n")[0]?.trim() ?? "";
  return state === "active" || state === "reloading" || state === "activating";
}

/**
 * `systemctl is-enabled`: "enabled" and its kin start at boot; "static" units have no [Install]
 * section and cannot be enabled, so they count as enabled (there is nothing to do). Anything
 * else, or an error ("Failed to get unit file state ..."), is not enabled.
 */
export function parseIsEnabled(stdout: string): boolean {
  const state = stdout.trim().split("\n")[0]?.trim() ?? "";
  return ["enabled", "enabled-runtime", "static", "alias", "indirect", "generated"].includes(state);
}
