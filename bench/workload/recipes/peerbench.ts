import { recipe } from "muster";

// The standard workload, resource for resource what peers/ansible/site.yml and the puppet
// module declare. The health gate is declared last, so it is written only after everything else
// converged (a failed resource stops the run before it).
export default recipe("peerbench", ({ attrs, directory, file, template, git }) => {
  const { root, filler, repo } = attrs.peerbench;
  const nfiles = Number(attrs.peerbench.nfiles);
  const pad = (n: number, width: number) => String(n).padStart(width, "0");

  directory(root, { mode: "0755", recursive: true });
  for (let d = 1; d <= 20; d++) directory(`${root}/d${pad(d, 2)}`, { mode: "0755" });
  directory(`${root}/sites`, { mode: "0755" });

  for (let i = 1; i <= nfiles; i++)
    file(`${root}/d${pad((i % 20) + 1, 2)}/f${pad(i, 5)}.txt`, {
      content: `file-${pad(i, 5)} ${filler}\n`,
      mode: "0644",
    });

  for (let i = 1; i <= 50; i++)
    template(`${root}/sites/site${i}.conf`, {
      source: "site.conf.eta",
      variables: { site: `site${i}`, port: 8000 + i },
      mode: "0644",
    });

  // full history, as the peers clone it (muster would fetch only the tip by default)
  git(`${root}/app`, { repository: repo, revision: "master", depth: 0 });

  // `muster boot` writes the gate itself, last, and refuses a recipe that manages it: the
  // headline benchmark (bench/headline.ts) boots this role with peerbench.ping = false
  if (attrs.peerbench.ping !== false) file(`${root}/ping.html`, { content: "ok\n", mode: "0644" });
});
