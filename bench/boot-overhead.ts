/**
 * The boot pipeline's own overhead: a whole `muster boot` of the example config repo (gate,
 * lock, IMDSv2 identity from the metadata emulator, fetch, deps check, role discovery, checks,
 * gate, CONTINUE to the Auto Scaling emulator, state and logs) minus the git transfer (the
 * `git fetch` network step) and minus the converge itself. Median of several runs on one root,
 * after a warm-up boot (the first converge starts the app and compiles the recipes), in this
 * process; then the same for `muster boot` as a process, node's start and module loading included.
 *
 *   node --import tsx bench/boot-overhead.ts [runs]
 */
import { execFile } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { runBoot } from "../src/boot/boot.ts";
import type { BootRecord } from "../src/boot/state.ts";
import { BOOT_ID, bootFixture, exampleBareRepos } from "../src/boot/testing/fixture.ts";
import { BIN } from "../src/test-support/tmp.ts";

const execFileAsync = promisify(execFile);

export interface BootOverhead {
  /** median overhead of the pipeline in a running process, ms */
  medianMs: number;
  runs: number;
  /** each run's overhead, ms */
  samplesMs: number[];
  /** each run's whole pipeline, ms (overhead + transfer + converge) */
  totalMs: number[];
  /** the same for `muster boot` as a process (node start and module loading included), ms */
  cliMedianMs?: number;
  cliSamplesMs?: number[];
}

/** Wall time of `muster boot --json` minus its git transfer and its converge stage. */
async function cliOverhead(root: string, env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  // asynchronously: the emulators answering it run in this process
  const { stdout: out } = await execFileAsync(process.execPath, [BIN, "boot", "--root", root, "--json"], {
    env,
    encoding: "utf8",
  });
  const wall = performance.now() - started;
  const record = JSON.parse(out) as BootRecord;
  if (record.outcome !== "open") throw new Error(`boot benchmark: muster boot ended ${record.outcome}`);
  const converge = record.stages.filter((s) => s.stage === "converge").reduce((a, s) => a + s.durationMs, 0);
  return wall - (record.transferMs ?? 0) - converge;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function bootOverhead(runs = 7): Promise<BootOverhead> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const repos = await exampleBareRepos();
  const fx = await bootFixture(repos);
  // as a systemd unit starts it: not with a build machine's NODE_EXTRA_CA_CERTS or NODE_OPTIONS
  const env: NodeJS.ProcessEnv = { MUSTER_BOOT_ID: BOOT_ID };
  for (const [k, v] of Object.entries(process.env))
    if (k !== "NODE_EXTRA_CA_CERTS" && k !== "NODE_OPTIONS") env[k] = v;
  env.MUSTER_BOOT_ID = BOOT_ID;
  try {
    const once = async () => {
      fx.startAction();
      const r = await runBoot({ root: fx.root, bootId: BOOT_ID, env });
      if (r.exitCode !== 0)
        throw new Error(`boot benchmark: the boot failed at ${r.record.failedStage}: ${r.record.error}`);
      return r;
    };
    await once(); // warm-up
    const samplesMs: number[] = [];
    const totalMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await once();
      const total = r.record.durationMs ?? 0;
      totalMs.push(total);
      samplesMs.push(total - r.timings.transferMs - r.timings.convergeMs);
    }
    const result: BootOverhead = { medianMs: median(samplesMs), runs, samplesMs, totalMs };
    if (existsSync(path.join(path.dirname(BIN), "../dist/cli.cjs"))) {
      const cliSamplesMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        fx.startAction();
        cliSamplesMs.push(await cliOverhead(fx.root, env));
      }
      result.cliSamplesMs = cliSamplesMs;
      result.cliMedianMs = median(cliSamplesMs);
    }
    return result;
  } finally {
    await fx.close();
    rmSync(fx.root, { recursive: true, force: true });
    rmSync(path.dirname(repos.configBare), { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const runs = Number(process.argv[2] ?? 7);
  const r = await bootOverhead(runs);
  process.stdout.write(
    `boot pipeline overhead (without git transfer and converge): median ${r.medianMs.toFixed(0)} ms over ${r.runs} runs ` +
      `(${r.samplesMs.map((x) => x.toFixed(0)).join(", ")} ms; whole pipeline median ${median(r.totalMs).toFixed(0)} ms); goal < 300 ms\n` +
      (r.cliMedianMs !== undefined
        ? `as a process (\`muster boot\`, node start and module loading included): median ${r.cliMedianMs.toFixed(0)} ms ` +
          `(${r.cliSamplesMs!.map((x) => x.toFixed(0)).join(", ")} ms)\n`
        : ""),
  );
}
export default bootOverhead;
