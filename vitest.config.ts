import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests beside the code, and integration specs under test/ that run
// against a real kube-apiserver + etcd started once per run by test/harness/global-setup.ts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['shared/**/*.test.ts', 'cli/**/*.test.ts', 'controller/**/*.test.ts', 'web/**/*.test.ts', 'scripts/**/*.test.ts', 'test/helm/**/*.test.ts'],
          // CLI tests run the compiled binary: build it once per run.
          globalSetup: ['test/build-setup.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          // The npm package, packed and installed (npm pack, npm install -g, krew): minutes, not seconds.
          name: 'package',
          include: ['test/package.test.ts'],
          globalSetup: ['test/build-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One control plane is shared by the run; spec files run in parallel, each in its own namespaces.
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
    ],
  },
});
