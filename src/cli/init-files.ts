/**
 * What `muster init` writes, PURE (muster's package root in, file contents out): a config
 * repository with one role, one recipe, its template and attributes, the editor setup
 * (tsconfig.json mapping "muster" to this muster's types, package.json), a tiny app under app/,
 * and a fleet.yaml that rehearses both. Kept in one module so a test can generate it and check
 * that it stays clean (`muster check`) and boots (`muster fleet up`).
 */
import { recipeCompilerOptions } from "./recipe-tsconfig.ts";

/** Relative path -> content, in the order they are written. */
export type InitFiles = Record<string, string>;

export function initFiles(musterRoot: string): InitFiles {
  return {
    "README.md": README,
    "package.json": `${JSON.stringify(
      {
        name: "config-repo",
        private: true,
        type: "module",
        scripts: { check: "muster check --repo ." },
      },
      null,
      2,
    )}\n`,
    // what editors read: "muster" is this muster's own source, so recipe(...) and every
    // resource's props complete and type-check as `muster check` checks them
    "tsconfig.json": `${JSON.stringify(
      {
        compilerOptions: recipeCompilerOptions(musterRoot),
        include: ["recipes"],
      },
      null,
      2,
    )}\n`,
    "roles/web.yaml": ROLE,
    "recipes/app.ts": RECIPE,
    "attributes/app.json": `${JSON.stringify(ATTRIBUTES, null, 2)}\n`,
    "templates/app.env.eta": TEMPLATE,
    "app/package.json": `${JSON.stringify({ name: "app", version: "1.0.0", private: true, type: "module", main: "server.js" }, null, 2)}\n`,
    "app/server.js": APP,
    "fleet.yaml": FLEET,
    ".gitignore": "node_modules/\n",
  };
}

const README = `# Config repository

Made by \`muster init\`. What is here:

- \`roles/web.yaml\`: the \`web\` role. An instance in the security group \`web\` converges it.
- \`recipes/app.ts\`: the recipe: syncs the app's repository and runs it as a service.
- \`attributes/app.json\`: the recipe's default attributes (\`app.repo\` is set per environment;
  the local fleet sets it to its copy of \`app/\`).
- \`templates/app.env.eta\`: the app's environment file.
- \`app/\`: a tiny Node app (answers \`/\` and \`/health\`). Replace it with yours, or point
  \`repositories.app\` in \`fleet.yaml\` at your app's directory.
- \`fleet.yaml\`: a local fleet of two instances of the \`web\` role (\`muster schema fleet\`).

Check it, then rehearse it:

    muster check --repo .
    muster fleet up --config fleet.yaml --wait
    muster fleet status --config fleet.yaml
    muster fleet down --config fleet.yaml
`;

const ROLE = `# The web servers. Named after the fleet's security group: an instance in the security
# group "web" converges this role (boot config: role: security-groups).
name: web
description: The app behind the load balancer.
runList:
  - app
defaultAttributes: {}
`;

const ATTRIBUTES = {
  app: {
    repo: "https://git.example.test/app.git",
    revision: "master",
    root: "/srv/app",
    host: "127.0.0.1",
    port: 8080,
    node: "node",
  },
};

const TEMPLATE = `# Rendered by muster from templates/app.env.eta: edits here are overwritten.
PORT=<%= it.port %>
HOST=<%= it.host %>
`;

const RECIPE = `import { recipe } from "muster";

// The app: its repository synced to attrs.app.revision and run as a service. A new commit or a
// changed environment restarts it once, at the end of the run.
export default recipe("app", ({ attrs, directory, git, template, service }) => {
  const app = attrs.app;
  directory(app.root, { mode: "0755", recursive: true });
  git(\`\${app.root}/current\`, { repository: app.repo, revision: app.revision, notifies: "service[app]" });
  directory("/etc/app", { mode: "0755" });
  template("/etc/app/app.env", {
    source: "app.env.eta",
    variables: { port: app.port, host: app.host },
    mode: "0640",
    notifies: "service[app]",
  });
  // run by systemd on a host whose init is systemd, by muster's supervisor in a sandbox
  service("app", {
    running: true,
    enabled: true,
    unit: {
      description: "the app",
      execStart: [app.node, "server.js"],
      workingDirectory: \`\${app.root}/current\`,
      environmentFile: "/etc/app/app.env",
      restart: "on-failure",
    },
  });
});
`;

const APP = `// A tiny app: answers /health (the boot's app check) and / with a greeting.
import { createServer } from "node:http";

const server = createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true }));
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(\`hello from \${process.env.HOST}\\n\`);
});
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;

const FLEET = `# A local fleet for this config repository: muster fleet up --config fleet.yaml --wait
# Every field: muster schema fleet (paths are relative to this file).
group:
  name: web
  min: 1
  max: 4
  desired: 2
repositories:
  config: { dir: . }
  app: { dir: app }
role: { source: security-groups, securityGroups: [web] }
loadBalancer: { preset: fast }
`;
