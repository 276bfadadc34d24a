/**
 * Templates render config files, not HTML: what a variable holds is written as it is, never
 * HTML-escaped (an nginx `if ($a && $b)` or a password with `<` must survive).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp, tmpDir } from "../test-support/tmp.ts";
import { renderTemplate } from "./template-render.ts";

afterEach(cleanupTmp);

function render(text: string, variables: Record<string, unknown>): string {
  const repo = tmpDir();
  mkdirSync(path.join(repo, "templates"));
  writeFileSync(path.join(repo, "templates/t.eta"), text);
  return renderTemplate(repo, "t.eta", variables);
}

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
