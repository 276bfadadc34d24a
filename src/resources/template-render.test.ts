import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { types } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { renderTemplate } from "./template-render.ts";

afterEach(cleanupTmp);

/** Render `text` as templates/t.eta of a fresh repository. */
function render(text: string, variables: Record<string, unknown>): string {
  const repo = tmpDir();
  mkdirSync(path.join(repo, "templates"));
  writeFileSync(path.join(repo, "templates/t.eta"), text);
  return renderTemplate(repo, "t.eta", variables);
}

describe("templates over lists", () => {
  const servers = [
    { host: "a", port: 1 },
    { host: "b", port: 2 },
  ];

  it("a field an item does not have is an error naming it", () => {
    expect(() => render("<% it.servers.forEach((s) => { %><%= s.prot %><% }) %>", { servers })).toThrow(
      /variable it\.servers\[0\]\.prot is not defined/,
    );
  });

  it("items keep their identity: indexOf, includes, comparing items", () => {
    const text =
      "<% it.servers.forEach((s) => { %><%= s.host %><%= it.servers.indexOf(s) < it.servers.length - 1 ? ',' : '' %><% }) %>" +
      "|<%= it.servers.includes(it.servers[0]) %>|<%= it.servers[1] === it.servers[1] %>";
    expect(render(text, { servers })).toBe("a,b|true|true");
  });

  it("map, join, spread and JSON work; sort writes back the items themselves, not views", () => {
    const list = [{ n: 2 }, { n: 1 }];
    expect(
      render("<%= it.list.map((x) => x.n).join('-') %> <%= JSON.stringify([...it.list]) %>", { list }),
    ).toBe('2-1 [{"n":2},{"n":1}]');
    render("<% it.list.sort((a, b) => a.n - b.n) %>", { list });
    expect(list).toEqual([{ n: 1 }, { n: 2 }]);
    expect(list.some((x) => types.isProxy(x))).toBe(false);
  });

  it("a frozen list reads as it is", () => {
    const frozen = Object.freeze([Object.freeze({ host: "a" })]);
    expect(render("<%= it.frozen[0].host %>", { frozen })).toBe("a");
  });
});

/** Templates render config files, not HTML: an nginx `if ($a && $b)` or a password with `<` survives. */
describe("template output is not escaped", () => {
  const tricky = `a<b>&"c'd`;

  it("<%= %> writes markup characters, quotes and ampersands as they are", () => {
    expect(render("password = <%= it.pw %>\n", { pw: tricky })).toBe(`password = ${tricky}\n`);
  });

  it("<%~ %> writes the same, and text outside tags is kept byte for byte", () => {
    const text = 'if ($a && $b) { return 301 "<%~ it.to %>"; }\n';
    expect(render(text, { to: "https://x/?a=1&b=<2>" })).toBe(
      'if ($a && $b) { return 301 "https://x/?a=1&b=<2>"; }\n',
    );
  });

  it("JSON built in a template keeps its quotes", () => {
    expect(render("<%= JSON.stringify(it.cfg) %>", { cfg: { name: 'say "hi" & <bye>' } })).toBe(
      '{"name":"say \\"hi\\" & <bye>"}',
    );
  });
});
