/** The bundle's entry: run the CLI and exit with its code. */
import { main } from "./main.ts";

// muster pins AWS SDK releases that support Node 20; the SDK's notice that later releases will
// not is for whoever upgrades it, not for every operator at every boot
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// A reader that goes away (`muster fleet events | head`) is no reason to stop: a boot or converge
// must run to its end whoever reads its report. Writes to a closed pipe are dropped; without a
// listener Node would throw them at the top level, stack trace and all.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE" && err.code !== "ERR_STREAM_DESTROYED") throw err;
  });

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`muster: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);
