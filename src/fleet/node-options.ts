/**
 * A fleet.yaml's NODE_OPTIONS reaches every Node process of every instance: its init (the
 * supervisor), its boot and its app. Node refuses some options there (`--cpu-prof is not allowed
 * in NODE_OPTIONS`, or one it does not know) and exits before running anything, so every instance
 * would die at launch, be replaced and die again. `muster fleet up` has node try them first.
 */
import { spawnSync } from "node:child_process";

/** Node's complaint about these NODE_OPTIONS, in one line, or undefined when it takes them. */
export function refusedNodeOptions(node: string, value: string): string | undefined {
  const r = spawnSync(node, ["-e", "0"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_OPTIONS: value },
    encoding: "utf8",
    timeout: 20_000,
  });
  if (r.status === 0) return undefined;
  const said = (r.stderr ?? "")
    .trim()
    .split("\n")[0]
    ?.replace(/^\S*node: /, "");
  return said || (r.error ? r.error.message : `node exited with code ${r.status}`);
}
