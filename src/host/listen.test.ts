import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { RunError } from "../core/errors.ts";
import { listenOn } from "./listen.ts";

describe("listenOn", () => {
  it("gives the port the kernel picked, and one line naming what could not listen on a taken one", async () => {
    const first = createServer();
    const second = createServer();
    try {
      const port = await listenOn(first, "127.0.0.1", 0, "first");
      expect(port).toBeGreaterThan(0);
      const err = await listenOn(second, "127.0.0.1", port, "the test server").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RunError);
      expect((err as Error).message).toMatch(
        new RegExp(`^the test server: cannot listen on 127\\.0\\.0\\.1:${port}: listen EADDRINUSE`),
      );
      expect(second.listenerCount("error")).toBe(0);
    } finally {
      first.close();
      second.close();
    }
  });
});
