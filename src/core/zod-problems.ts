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
  return error.issues.map((issue) => {
    const path = formatPath([...prefix, ...issue.path]);
    let msg = issue.message;
    if (issue.code === "unrecognized_keys") {
      const keys = (issue as { keys: string[] }).keys;
      msg = `unknown ${noun}${keys.length > 1 ? "s" : ""} ${keys.map((k) => `"${k}"`).join(", ")}`;
      return `${where}: ${path ? `${path}: ` : ""}${msg}`;
    }
    return `${where}: ${path || "(top level)"}: ${msg}`;
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
