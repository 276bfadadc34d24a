/** The environment of an instance's processes: systemd's for a service, not the daemon's. */
import { describe, expect, it } from "vitest";
import { instanceEnvironment, reservedVariable, SYSTEMD_DEFAULT_PATH } from "./instance-env.ts";

/** An operator's shell on a laptop: node from nvm, a CA bundle for a proxy, credentials. */
const OPERATOR = {
  PATH: "/home/op/.nvm/versions/node/v20.20.2/bin:/home/op/bin:/usr/local/bin:/usr/bin:/bin",
  HOME: "/home/op",
  USER: "op",
  SHELL: "/bin/zsh",
  LANG: "en_GB.UTF-8",
  TZ: "Europe/London",
  TMPDIR: "/home/op/tmp",
  NODE_OPTIONS: "--max-old-space-size=8192",
  NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt",
  XDG_CONFIG_HOME: "/home/op/.config",
  GIT_DIR: "/home/op/src/muster/.git",
  npm_config_registry: "https://registry.example/",
  AWS_SECRET_ACCESS_KEY: "secret",
  AWS_PROFILE: "prod",
  MUSTER_ROOT: "/",
  MUSTER_BOOT_ID: "the-daemon-s-own",
};

describe("an instance's environment", () => {
  it("is systemd's for a service: PATH, the locale and time zone, the sandbox's HOME, the fleet's own", () => {
    const env = instanceEnvironment({
      inherited: OPERATOR,
      toolDirs: ["/home/op/.nvm/versions/node/v20.20.2/bin", "/usr/bin"],
      root: "/state/instances/i-1/root",
      bootId: "b00t",
    });
    expect(env).toEqual({
      PATH: `/home/op/.nvm/versions/node/v20.20.2/bin:${SYSTEMD_DEFAULT_PATH}`,
      LANG: "en_GB.UTF-8",
      TZ: "Europe/London",
      HOME: "/state/instances/i-1/root/root",
      MUSTER_BOOT_ID: "b00t",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      NO_COLOR: "1",
    });
  });

  it("PATH: systemd's default, with the tool directories it lacks in front, each once and in order", () => {
    const pathOf = (toolDirs: string[]) =>
      instanceEnvironment({ inherited: {}, toolDirs, root: "/r", bootId: "b" }).PATH;
    expect(pathOf([])).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(pathOf(["/usr/bin", "/usr/bin"])).toBe(SYSTEMD_DEFAULT_PATH);
    expect(pathOf(["/opt/node/bin", "/opt/git/bin", "/opt/node/bin", "", "relative/bin"])).toBe(
      `/opt/node/bin:/opt/git/bin:${SYSTEMD_DEFAULT_PATH}`,
    );
  });

  it("passes LC_ALL on, but not an empty LANG; no HOME, TMPDIR or anything else of the daemon's", () => {
    const env = instanceEnvironment({
      inherited: { LANG: "", LC_ALL: "C.UTF-8", HOME: "/root", TMPDIR: "/big/tmp", SSL_CERT_FILE: "/x" },
      toolDirs: [],
      root: "/s/root",
      bootId: "b",
    });
    expect(env.LC_ALL).toBe("C.UTF-8");
    expect(env).not.toHaveProperty("LANG");
    expect(env).not.toHaveProperty("TMPDIR");
    expect(env).not.toHaveProperty("SSL_CERT_FILE");
    expect(env.HOME).toBe("/s/root/root");
  });

  it("fleet.yaml's instances.environment comes last, as a unit's Environment= lines", () => {
    const env = instanceEnvironment({
      inherited: OPERATOR,
      toolDirs: [],
      root: "/r",
      bootId: "b",
      extra: { NODE_EXTRA_CA_CERTS: "/srv/ca.pem", PATH: "/opt/bin:/usr/bin:/bin", LANG: "C.UTF-8" },
    });
    expect(env.NODE_EXTRA_CA_CERTS).toBe("/srv/ca.pem");
    expect(env.PATH).toBe("/opt/bin:/usr/bin:/bin");
    expect(env.LANG).toBe("C.UTF-8");
    expect(env.MUSTER_BOOT_ID).toBe("b");
    expect(env).not.toHaveProperty("NODE_OPTIONS");
  });

  it("MUSTER_ and AWS_ names are the fleet's, not fleet.yaml's", () => {
    expect(reservedVariable("MUSTER_BOOT_ID")).toMatch(/fleet's to set/);
    expect(reservedVariable("AWS_ACCESS_KEY_ID")).toMatch(/never reach an instance/);
    expect(reservedVariable("NODE_EXTRA_CA_CERTS")).toBeUndefined();
    expect(reservedVariable("AWSX")).toBeUndefined();
  });
});
