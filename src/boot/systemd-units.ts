/**
 * The systemd units `muster install` writes, as text: PURE (settings in, files out).
 *
 * muster-boot.service runs once per boot after the network is online and cloud-init has set the
 * machine up, and is ordered before the usual web servers, so a web server started at boot
 * starts only after the boot has finished and cannot serve an old gate file early; the gate file
 * is also removed by ExecStartPre before muster itself starts.
 */

/** The web server units a boot is ordered before. */
export const WEB_SERVER_UNITS = ["nginx.service", "apache2.service", "haproxy.service"];

export interface UnitSettings {
  /** the node binary */
  node: string;
  /** muster's bin/muster.js */
  muster: string;
  /** the gate file (a path on the machine) */
  gateFile: string;
  /** the boot's overall deadline (the unit's start timeout leaves room above it) */
  deadlineMs: number;
  /** between periodic re-converge runs */
  intervalMs: number;
}

/**
 * systemd's quoting for one ExecStart word: `%` starts a specifier and `$` an environment
 * variable there (quoted or not, systemd.service "Command lines"), so each is doubled.
 */
export function unitWord(word: string): string {
  const s = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(s)) return s;
  return `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function exec(s: UnitSettings, args: string[]): string {
  return [s.node, s.muster, ...args].map(unitWord).join(" ");
}

/**
 * A number of seconds as a unit file may hold it: a whole number in plain digits. The boot
 * config bounds every duration, so this never throws for a parsed config; it keeps anything else
 * (`1e+308`, `NaN`) out of a unit, where systemd would refuse or misread it.
 */
export function unitSeconds(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > 10_000_000)
    throw new RangeError(`not a number of seconds for a systemd unit: ${n}`);
  return n;
}

export function systemdUnits(s: UnitSettings): Record<string, string> {
  // systemd's times here are seconds
  const interval = unitSeconds(Math.max(60, Math.round(s.intervalMs / 1000)));
  const startTimeout = unitSeconds(Math.ceil(s.deadlineMs / 1000) + 120);
  return {
    "muster-boot.service": `# Written by muster install.
[Unit]
Description=muster boot: converge this server, then open its health gate
Wants=network-online.target
After=network-online.target cloud-init.service cloud-config.service
# A web server started at boot waits until the boot has finished: it cannot serve a gate early.
Before=${WEB_SERVER_UNITS.join(" ")}

[Service]
Type=oneshot
RemainAfterExit=yes
# Close the gate before anything else runs, even if muster itself cannot start.
ExecStartPre=/bin/rm -f ${unitWord(s.gateFile)}
ExecStart=${exec(s, ["boot", "--root", "/"])}
TimeoutStartSec=${startTimeout}
StandardOutput=journal
StandardError=journal
SyslogIdentifier=muster-boot

[Install]
WantedBy=multi-user.target
`,
    "muster-health.service": `# Written by muster install.
[Unit]
Description=muster health endpoint: 503 until this server's gate is open for this boot
After=network.target

[Service]
Type=simple
ExecStart=${exec(s, ["health", "serve", "--root", "/"])}
Restart=always
RestartSec=2
SyslogIdentifier=muster-health

[Install]
WantedBy=multi-user.target
`,
    // The departure half: watches for the target state Terminated and spot notices, then drains,
    // runs the shutdown run list and completes the terminate hook. After the boot, so a server
    // that is still booting is not mistaken for one that departs.
    "muster-watch.service": `# Written by muster install.
[Unit]
Description=muster watch: drain this server and complete its terminate hook when it departs
Wants=network-online.target
After=network-online.target muster-boot.service

[Service]
Type=simple
ExecStart=${exec(s, ["watch", "--root", "/"])}
Restart=on-failure
RestartSec=5
SyslogIdentifier=muster-watch

[Install]
WantedBy=multi-user.target
`,
    "muster-converge.service": `# Written by muster install. Started by muster-converge.timer.
[Unit]
Description=muster re-converge: keep this server in step with its config repo
Wants=network-online.target
After=network-online.target muster-boot.service

[Service]
Type=oneshot
ExecStart=${exec(s, ["boot", "--periodic", "--root", "/"])}
TimeoutStartSec=${startTimeout}
SyslogIdentifier=muster-converge
`,
    "muster-converge.timer": `# Written by muster install.
[Unit]
Description=periodic muster re-converge (drift correction)

[Timer]
OnBootSec=${interval}s
OnUnitInactiveSec=${interval}s
RandomizedDelaySec=${Math.min(300, Math.round(interval / 10))}s

[Install]
WantedBy=timers.target
`,
  };
}

/** Which target's .wants/ directory enables each unit (what `systemctl enable` makes). */
export function wantedBy(units: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(units)) {
    const m = /^\[Install\][\s\S]*?^WantedBy=(\S+)/m.exec(text);
    if (m) out[name] = m[1]!;
  }
  return out;
}
