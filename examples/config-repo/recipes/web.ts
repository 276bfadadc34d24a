import { recipe } from "muster";

// A web server: the application synced to the current revision of its repository, released
// through a `live` link and run as a service, and the web server's site config rendered from
// attributes. The app's environment file notifies the service: a changed port or address
// restarts the app once, at the end of the run.
// It runs on Debian and Ubuntu (apt) and on Amazon Linux 2023 (dnf): node.platform.family says
// which, where names and paths differ.
export default recipe(
  "web",
  ({ attrs, node, directory, git, template, link, file, package: pkg, service }) => {
    const app = attrs.app;
    const rhel = node.platform.family === "rhel";
    // the git resource below needs git, a package of that name on both families. On a host apt or
    // dnf installs it if it is missing; under a sandbox root apt only checks that the host has it.
    pkg("git");
    directory(app.root, { mode: "0755", recursive: true });
    // a new commit restarts the app, so it serves the revision it was synced to
    git(`${app.root}/current`, { repository: app.repo, revision: app.revision, notifies: "service[app]" });
    link(`${app.root}/live`, { to: `${app.root}/current` });

    // Debian's nginx includes sites-enabled/, Amazon Linux's conf.d/
    const sites = rhel ? "/etc/nginx/conf.d" : "/etc/nginx/sites-enabled";
    directory(sites, { mode: "0755", recursive: true });
    template(`${sites}/app.conf`, {
      source: "site.conf.eta",
      variables: {
        port: attrs.web.port,
        serverName: attrs.web.server_name,
        root: `${app.root}/live/public`,
        appPort: app.port,
      },
      mode: "0644",
    });
    directory("/etc/app", { mode: "0755" });
    file("/etc/app/app.env", {
      content: `PORT=${app.port}\nHOST=${app.host}\nAPP_ROOT=${app.root}/live\n`,
      mode: "0640",
      notifies: "service[app]",
    });
    // run by systemd on a host whose init is systemd, by muster's supervisor in a sandbox
    service("app", {
      running: true,
      enabled: true,
      unit: {
        description: "the example app (examples/app)",
        execStart: [app.node, "server.js"],
        workingDirectory: `${app.root}/live`,
        environmentFile: "/etc/app/app.env",
        restart: "on-failure",
      },
    });
  },
);
