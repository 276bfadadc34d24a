/** Which package provider a root gets, and the name rules that follow from it. */
import { describe, expect, it } from "vitest";
import { choosePackageProvider, packageKind } from "./package.ts";

describe("choosePackageProvider", () => {
  it.each([
    [undefined, "rhel", "dnf"],
    [undefined, "debian", "apt"],
    [undefined, "unknown", "apt"],
    ["apt", "rhel", "apt"],
    ["dnf", "debian", "dnf"],
  ] as const)("provider %s on %s: %s", (requested, family, want) => {
    expect(choosePackageProvider(requested, family)).toBe(want);
  });
});

describe("package names by provider", () => {
  const ok = (props: Record<string, unknown>) => packageKind.schema.safeParse(props).success;
  it("rpm-only names need provider dnf", () => {
    expect(ok({ name: "NetworkManager" })).toBe(false);
    expect(ok({ name: "NetworkManager", provider: "dnf" })).toBe(true);
    expect(ok({ name: "x", names: ["perl-Data-Dumper", "python3_x"], provider: "dnf" })).toBe(true);
    expect(ok({ name: "bad!", provider: "dnf" })).toBe(false);
    expect(ok({ name: "nginx", provider: "yum" })).toBe(false);
  });
  it("a dnf version with a release and an epoch", () => {
    expect(ok({ name: "nginx", version: "1:1.24.0-1.amzn2023.0.4", provider: "dnf" })).toBe(true);
    expect(ok({ name: "nginx", version: "1.0 beta" })).toBe(false);
  });
});
