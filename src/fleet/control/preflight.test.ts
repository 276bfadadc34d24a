/**
 * The address checks of `muster fleet up`: a taken address of a block is found wherever it is in
 * the block, and a fleet on the default block nobody chose moves to the first free candidate,
 * while a block fleet.yaml or --addresses chose is never moved.
 */
import { once } from "node:events";
import { type AddressInfo, createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupTmp } from "../../test-support/tmp.ts";
import { type AddressRange, addressAt, type FleetConfig, parseAddressRange } from "./fleet-config.ts";
import { testFleetConfig, testFleetYaml } from "./fleet-testing.ts";
import { candidateBlocks, describeTaken, replacementBlock, takenInBlock } from "./preflight.ts";

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  cleanupTmp();
});

async function listen(host: string, port = 0): Promise<number> {
  const s = createServer().listen(port, host);
  servers.push(s);
  await once(s, "listening");
  return (s.address() as AddressInfo).port;
}

const block = (salt: number) => testFleetYaml(salt).instances.addresses as string;
const range = (b: string) => parseAddressRange(b) as AddressRange;

/** A test fleet on block `salt` whose app listens on `appPort`, as if nobody had chosen its block. */
function defaulted(salt: number, appPort: number): FleetConfig {
  const cfg = testFleetConfig(salt, { instances: { addresses: block(salt), appPort } });
  cfg.instances.addressesDefaulted = true;
  return cfg;
}

describe("fleet up's address checks", () => {
  it("finds a taken address anywhere in the block, and names its field", async () => {
    const host = addressAt(range(block(21)), 5);
    const port = await listen(host);
    const cfg = testFleetConfig(21, { instances: { appPort: port } });
    const taken = await takenInBlock(cfg, cfg.instances.addresses);
    expect(taken).toEqual({ host, port, field: "appPort", more: 0 });
    expect(describeTaken(taken!)).toBe(`${host}:${port} (the appPort)`);
    // another block with the same ports is free
    expect(await takenInBlock(cfg, range(block(22)))).toBeUndefined();
  });

  it("moves a fleet off a default block in use to the first free candidate", async () => {
    const port = await listen(addressAt(range(block(23)), 0));
    const cfg = defaulted(23, port);
    // the first candidate is taken as well (at its last address), the second is free
    await listen(addressAt(range(block(24)), 253), port);
    const moved = await replacementBlock(cfg, [block(24), block(25)]);
    expect(moved?.block).toBe(block(25));
    expect(moved?.taken.host).toBe(addressAt(range(block(23)), 0));
  });

  it("leaves a free default block, and a chosen block, where they are", async () => {
    const port = await listen(addressAt(range(block(26)), 0));
    expect(await replacementBlock(defaulted(27, port), [block(28)])).toBeUndefined();
    const chosen = defaulted(26, port);
    chosen.instances.addressesDefaulted = false;
    expect(await replacementBlock(chosen, [block(28)])).toBeUndefined();
  });

  it("candidates are the /24 blocks under 127.77 after the default one, each a valid range", () => {
    const all = candidateBlocks();
    expect(all[0]).toBe("127.77.1.1-127.77.1.254");
    expect(all.every((b) => typeof parseAddressRange(b) !== "string")).toBe(true);
    expect(new Set(all).size).toBe(all.length);
  });
});
