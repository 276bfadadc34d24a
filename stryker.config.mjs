// Mutation testing of the safety-critical modules: `npm run mutate` (not part of CI: hours on two
// cores). A subset: `npm run mutate -- --mutate src/boot/stages/checks.ts,src/boot/pipeline.ts`.
// Each mutant runs the tests that cover it, and the boot end-to-end tests cover the pipeline: that
// subset got through 29 of its 268 mutants in ten minutes (hours in all). With only the two files'
// own tests (a vitest config including src/boot/stages/checks*.test.ts and
// src/boot/pipeline*.test.ts, and `vitest: { configFile, related: false }`) all 268 took 3 minutes.
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.config.ts" },
  mutate: [
    "src/gate/**/*.ts",
    "src/boot/stages/checks.ts",
    "src/boot/pipeline.ts",
    "src/boot/plan.ts",
    "src/runner/**/*.ts",
    "src/resources/file.ts",
    "src/resources/ownership.ts",
    "src/resources/git.ts",
    "!src/**/*.test.ts",
  ],
  // Stryker rewrites the sandbox's tsconfig through TypeScript's JS API, which the native
  // compiler (typescript 7) no longer has; this tsconfig needs no rewriting (no extends or
  // references), so a name that does not exist turns that step off
  tsconfigFile: "tsconfig.stryker-absent.json",
  coverageAnalysis: "perTest",
  reporters: ["clear-text", "progress", "html"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  tempDirName: ".stryker-tmp",
  // the boot and git tests start processes: one test process at a time on a 2-core machine
  concurrency: 1,
  timeoutMS: 60_000,
};
