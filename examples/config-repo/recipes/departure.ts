import { recipe } from "muster";

// The web role's shutdown run list: `muster watch` converges it as the server departs, after the
// drain and before the terminate hook's CONTINUE (a place to flush logs or deregister elsewhere).
export default recipe("departure", ({ node, file }) => {
  file("/var/log/app/departed", {
    content: `${String(node.instance?.instanceId ?? "unknown")} departed: ${String(node.instance?.targetLifecycleState ?? "unknown")}\n`,
    mode: "0644",
  });
});
