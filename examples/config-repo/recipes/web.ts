import { recipe } from "muster";

// A web server: the application synced to the current revision of its repository, released
// through a `live` link, and the web server's site config rendered from attributes.
export default recipe("web", ({ attrs, directory, git, template, link, file }) => {
  const app = attrs.app;
  directory(app.root, { mode: "0755", recursive: true });
  git(`${app.root}/current`, { repository: app.repo, revision: app.revision });
  link(`${app.root}/live`, { to: `${app.root}/current` });

  directory("/etc/nginx/sites-enabled", { mode: "0755", recursive: true });
  template("/etc/nginx/sites-enabled/app.conf", {
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
    content: `PORT=${app.port}\nAPP_ROOT=${app.root}/live\n`,
    mode: "0640",
  });
});
