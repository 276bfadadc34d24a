/** zod issues as muster's one-line problems: `roles/web.json: run_list[1]: expected string`. */
import type { z } from "zod";

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`;
    else out += out === "" ? String(k) : `.${String(k)}`;
  }
  return out;
}

/**
 * `noun`: what a key is called where the problem is: a resource's "prop", a config file's "field".
 */
export function zodProblems(
  where: string,
  error: z.ZodError,
  prefix: readonly PropertyKey[] = [],
  noun = "prop",
): string[] {
  // a misspelt required key is two issues, "runList: required" and "unknown field runlist": one
  // line says both, with the name it should have
  const missing = error.issues.filter((i) => i.code === "invalid_type" && i.message === "required");
  const meant = new Map<z.core.$ZodIssue, string>(); // a missing key -> the unknown one it was
  const hint = new Map<string, string>(); // "path\0unknown key" -> the missing key it was meant to be
  for (const issue of error.issues) {
    if (issue.code !== "unrecognized_keys") continue;
    for (const k of issue.keys) {
      const sibling = missing.find(
        (m) =>
          !meant.has(m) &&
          formatPath(m.path.slice(0, -1)) === formatPath(issue.path) &&
          closest(k, [String(m.path.at(-1))]) !== undefined,
      );
      if (!sibling) continue;
      meant.set(sibling, k);
      hint.set(`${formatPath(issue.path)}\0${k}`, String(sibling.path.at(-1)));
    }
  }
  return error.issues
    .filter((issue) => !meant.has(issue))
    .map((issue) => {
      // a bad key is named by its message (zod-messages.ts), not as a step of the path
      const path = formatPath([
        ...prefix,
        ...(issue.code === "invalid_key" ? issue.path.slice(0, -1) : issue.path),
      ]);
      if (issue.code === "unrecognized_keys") {
        const keys = issue.keys.map((k) => {
          const want = hint.get(`${formatPath(issue.path)}\0${k}`);
          return want ? `"${k}" (did you mean "${want}"?)` : `"${k}"`;
        });
        const msg = `unknown ${noun}${keys.length > 1 ? "s" : ""} ${keys.join(", ")}`;
        return `${where}: ${path ? `${path}: ` : ""}${msg}`;
      }
      return `${where}: ${path || "(top level)"}: ${issue.message}`;
    });
}

/** The closest known name, for "did you mean" hints (Levenshtein distance up to 2). */
export function closest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}
