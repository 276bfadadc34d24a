/**
 * PURE: the paths no resource may destroy. muster runs as root, so `directory("/", { action:
 * "delete", recursive: true })` would be `rm -rf /` (under --root, the sandbox root itself): a
 * resource that deletes, replaces or checks out into the root or one of the host's own
 * directories (the list `image.clean` refuses too) is bad input, refused by the compile phase,
 * so `muster check` and a dry run refuse it as well and nothing is ever applied.
 */
import { normalInside, SYSTEM_DIRS } from "../host/system-dirs.ts";

interface AtRisk {
  /** the prop that names the path */
  field: string;
  path: string;
  /** what the resource would do to it: "delete it", ... */
  does: string;
  /** what to give instead */
  hint: string;
}

const deletes = (p: Record<string, unknown>): AtRisk | undefined =>
  p.action === "delete"
    ? { field: "path", path: String(p.path), does: "delete it", hint: "name what inside it to delete" }
    : undefined;

/** Per kind: the path the declared resource would remove or take over, if any. */
const AT_RISK: Record<string, (p: Record<string, unknown>) => AtRisk | undefined> = {
  directory: deletes,
  file: deletes,
  template: deletes,
  // a link replaces what is there: on a merged-/usr host /bin and /lib are links themselves
  link: (p) =>
    p.action === "delete"
      ? deletes(p)
      : {
          field: "path",
          path: String(p.path),
          does: "replace it with a link",
          hint: "give a path inside it",
        },
  // a checkout is forced to the commit and cleaned: the destination becomes git's
  git: (p) => ({
    field: "destination",
    path: String(p.destination),
    does: "check a repository out into it",
    hint: "give a directory of its own (such as /srv/app)",
  }),
};

/** PURE: why the declared resource of `kind` with validated `props` must not run, if so. */
export function protectedPathProblem(kind: string, props: Record<string, unknown>): string | undefined {
  const risk = AT_RISK[kind]?.(props);
  if (!risk) return undefined;
  const n = normalInside(risk.path);
  const shown = n === risk.path ? n : `${risk.path} (${n})`;
  if (n === "/")
    return `${risk.field}: ${shown} is the root itself; muster will not ${risk.does}: ${risk.hint}`;
  if (SYSTEM_DIRS.has(n))
    return `${risk.field}: ${shown} is a directory of the host itself; muster will not ${risk.does}: ${risk.hint}`;
  // ".." is resolved through the host's links at converge time (a/b/.. need not be a), so what
  // such a path names cannot be told here: written without it, it can
  if (risk.path.split("/").includes(".."))
    return `${risk.field}: ${risk.path} contains "..", which the host's links decide the meaning of; write the path without it`;
  return undefined;
}
