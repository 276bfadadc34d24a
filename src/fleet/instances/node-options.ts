/**
 * A fleet.yaml's NODE_OPTIONS reaches every Node process of every instance: its init (the
 * supervisor), its boot and its app. Node refuses some options there (`--cpu-prof is not allowed
 * in NODE_OPTIONS`, or one it does not know) and exits before running anything, so every instance
 * would die at launch, be replaced and die again. `muster fleet up` has node try them first.
 */
import { spawnSync } from "node:child_process";

/** Node's complaint about these NODE_OPTIONS, in one line, or undefined when it takes them. */
export function refusedNodeOptions(node: string, value: string): string | undefined {
  // from "/", as an instance's processes start: a relative --require resolves as it will there
  const r = spawnSync(node, ["-e", "0"], {
    cwd: "/",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_OPTIONS: value },
    encoding: "utf8",
    timeout: 20_000,
  });
  if (r.status === 0) return undefined;
  // node's own complaint ("node: bad option: ..."), else the error a preload threw, not its stack
  const lines = (r.stderr ?? "").trim().split("\n");
  const said =
    lines.find((l) => /^\S*node: /.test(l))?.replace(/^\S*node: /, "") ??
    lines.find((l) => /^\w*Error\b/.test(l)) ??
    lines[0];
  return said || (r.error ? r.error.message : `node exited with code ${r.status}`);
}
