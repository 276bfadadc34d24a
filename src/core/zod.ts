/**
 * zod as muster uses it: every module takes `z` from here, so the settings below hold before any
 * schema parses anything.
 *
 * jitless: zod compiles a fast path (with `new Function`) for each object schema the first time
 * it parses one. muster parses most of its schemas once per process (a boot: its config, a role,
 * the props of each resource kind), so the compiling costs more than it saves: about 25 ms of the
 * 0.25 s of CPU a first boot uses. A no-op converge of 2000 files is no slower without it.
 *
 * customError: every problem in muster's words (src/core/zod-messages.ts), not zod's.
 */
import { z } from "zod";
import { plainIssueMessage } from "./zod-messages.ts";

z.config({ jitless: true, customError: plainIssueMessage });

export { z };
