/** The bundle's entry: run the CLI and exit with its code. */
import { main } from "./main.ts";

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`muster: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);
