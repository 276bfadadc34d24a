/**
 * PURE: what came back over a supervisor's socket, checked against the protocol
 * (supervisor-policy.ts's SupervisorResponse) before anything trusts it. Whatever listens on the
 * socket path answers here, and it need not be muster's supervisor (another program, another
 * user's listener on a shared path): an answer that is not the protocol is a problem to report,
 * never a crash.
 */
import { z } from "../core/zod.ts";
import { zodProblems } from "../core/zod-problems.ts";
import type { ServiceStatus, SupervisorResponse } from "./supervisor-policy.ts";

/** The longest answer read: a status of every service is a few hundred bytes each. */
export const MAX_REPLY_CHARS = 1024 * 1024;

const serviceStatus = z.object({
  name: z.string(),
  state: z.enum(["stopped", "starting", "running", "backoff", "stopping", "failed"]),
  pid: z.number().int().optional(),
  starts: z.number().int(),
  crashes: z.number().int(),
  pids: z.array(z.number().int()),
  startedAt: z.string().optional(),
  lastExit: z
    .object({ code: z.number().int().nullable(), signal: z.string().nullable(), at: z.string() })
    .optional(),
  error: z.string().optional(),
  logFile: z.string(),
}) satisfies z.ZodType<ServiceStatus>;

export const supervisorResponseSchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), pid: z.number().int(), services: z.record(z.string(), serviceStatus) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]) satisfies z.ZodType<SupervisorResponse>;

/** At most `max` characters of what was received, quoted on one line. */
export function shownReply(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return JSON.stringify(cut);
}

/** One answer line: the response, or why it is not one (one line, naming the socket). */
export function parseSupervisorReply(
  line: string,
  socket: string,
): { response: SupervisorResponse } | { problem: string } {
  const notProtocol = (why: string) => ({
    problem: `the supervisor socket ${socket} answered ${shownReply(line)}, which is not muster's supervisor protocol (${why}); is something else listening there?`,
  });
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return notProtocol("not JSON");
  }
  const parsed = supervisorResponseSchema.safeParse(value);
  if (!parsed.success) return notProtocol(zodProblems("reply", parsed.error, [], "field")[0]!);
  return { response: parsed.data };
}

/** Why the bytes read so far cannot be an answer, if they cannot. */
export function unfinishedReplyProblem(
  received: string,
  socket: string,
  closed: boolean,
): string | undefined {
  if (received.length > MAX_REPLY_CHARS)
    return `the supervisor socket ${socket} sent more than ${MAX_REPLY_CHARS} characters without ending its answer (${shownReply(received)}), which is not muster's supervisor protocol; is something else listening there?`;
  if (closed && received.length > 0)
    return `the supervisor socket ${socket} answered ${shownReply(received)} and closed without ending the line, which is not muster's supervisor protocol; is something else listening there?`;
  return undefined;
}
