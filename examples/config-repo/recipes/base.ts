import { recipe } from "muster";

// What every server has, whatever its role.
export default recipe("base", ({ attrs, node, directory, file }) => {
  directory("/etc/muster", { mode: "0755", recursive: true });
  directory("/var/log/app", { mode: "0755", recursive: true });
  file("/etc/motd", {
    content: `${attrs.base.motd}\nrole: ${node.role}\n`,
    mode: "0644",
  });
});
