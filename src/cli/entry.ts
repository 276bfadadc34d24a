/** The bundle's entry: run the CLI and exit with its code. */
import { main } from "./main.ts";

// muster pins AWS SDK releases that support Node 20; the SDK's notice that later releases will
// not is for whoever upgrades it, not for every operator at every boot
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`muster: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);
