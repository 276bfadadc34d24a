/**
 * PURE: how the config revision a server is on stands against the ref its boot config names
 * (docs/boot.md, "Pinned ref or follow"), for `muster status`. Only a full commit id can be
 * compared without a network step; a branch or tag is told as what it is.
 */
const COMMIT = /^[0-9a-f]{40}$/;

export type ConfigRefState =
  /** repo.ref is a commit and the server is on it */
  | "matches"
  /** repo.ref is a commit and the server is on another one (or none is known) */
  | "differs"
  /** repo.follow: periodic runs fetch the branch again */
  | "follows"
  /** a branch or tag, not followed: periodic runs keep the commit the boot opened the gate on */
  | "opened-on";

export interface ConfigRefAgreement {
  ref: string;
  follow: boolean;
  state: ConfigRefState;
}

export function configRefAgreement(
  repo: { ref: string; follow: boolean },
  revision: string | undefined,
): ConfigRefAgreement {
  const { ref, follow } = repo;
  if (COMMIT.test(ref)) return { ref, follow, state: revision === ref ? "matches" : "differs" };
  return { ref, follow, state: follow ? "follows" : "opened-on" };
}

/** The human line's text after "config ref:". */
export function configRefText(a: ConfigRefAgreement): string {
  switch (a.state) {
    case "matches":
      return `pinned to ${a.ref}: the server is on it`;
    case "differs":
      return `pinned to ${a.ref}: DIFFERS from the config revision`;
    case "follows":
      return `follows ${a.ref}`;
    case "opened-on":
      return `${a.ref} (not followed: periodic runs keep the commit the boot opened the gate on)`;
  }
}
