/** os-release texts as the four platforms ship them, and a root read through RootFs. */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { parseOsRelease, platformOf, readPlatform, UNKNOWN_PLATFORM } from "./platform.ts";
import { RootFs } from "./root-fs.ts";

afterAll(cleanupTmp);

const DEBIAN_12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`;

const UBUNTU_2404 = `PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
LOGO=ubuntu-logo
`;

const AMAZON_2023 = `NAME="Amazon Linux"
VERSION="2023"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2023"
PLATFORM_ID="platform:al2023"
PRETTY_NAME="Amazon Linux 2023.6.20241212"
ANSI_COLOR="0;33"
CPE_NAME="cpe:2.3:o:amazon:amazon_linux:2023"
SUPPORT_END="2028-03-15"
`;

const RHEL_9 = `NAME="Red Hat Enterprise Linux"
VERSION="9.4 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"
REDHAT_BUGZILLA_PRODUCT_VERSION=9.4
`;

describe("platformOf", () => {
  it.each([
    ["Debian 12", DEBIAN_12, { family: "debian", name: "debian", version: "12" }],
    ["Ubuntu 24.04", UBUNTU_2404, { family: "debian", name: "ubuntu", version: "24.04" }],
    ["Amazon Linux 2023", AMAZON_2023, { family: "rhel", name: "amazon", version: "2023" }],
    ["RHEL 9", RHEL_9, { family: "rhel", name: "rhel", version: "9.4" }],
    [
      "an unknown distribution",
      "ID=plan9\nVERSION_ID=4\n",
      { family: "unknown", name: "plan9", version: "4" },
    ],
  ])("%s", (_label, text, want) => {
    expect(platformOf(text)).toEqual(want);
  });

  it("no file, or a file without ID, is the unknown platform", () => {
    expect(platformOf(undefined)).toEqual(UNKNOWN_PLATFORM);
    expect(platformOf("# nothing\n")).toEqual(UNKNOWN_PLATFORM);
  });
});

describe("parseOsRelease", () => {
  it("unquotes single and double quotes, unescapes inside double quotes, skips comments", () => {
    expect(parseOsRelease(`# c\nA="x \\"y\\" \\$z"\nB='it is'\nC=plain\nbad line\n`)).toEqual({
      A: 'x "y" $z',
      B: "it is",
      C: "plain",
    });
  });
});

describe("readPlatform", () => {
  it("reads the root's /etc/os-release, through its relative link to /usr/lib/os-release", () => {
    const root = tmpDir();
    mkdirSync(path.join(root, "usr/lib"), { recursive: true });
    mkdirSync(path.join(root, "etc"));
    writeFileSync(path.join(root, "usr/lib/os-release"), AMAZON_2023);
    symlinkSync("../usr/lib/os-release", path.join(root, "etc/os-release"));
    expect(readPlatform(new RootFs(root))).toEqual({ family: "rhel", name: "amazon", version: "2023" });
  });
  it("an empty root is the unknown platform", () => {
    expect(readPlatform(new RootFs(tmpDir()))).toEqual(UNKNOWN_PLATFORM);
  });
});
