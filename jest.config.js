/** jest runs the TypeScript sources as ES modules through @swc/jest (no build step). */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      {
        jsc: { parser: { syntax: "typescript" }, target: "es2023" },
        module: { type: "es6" },
      },
    ],
  },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  setupFiles: ["<rootDir>/test/support/env.ts"],
  testTimeout: 30_000,
  // Suites isolate their data (own database, own namespace), so files run in parallel.
  maxWorkers: 2,
};
