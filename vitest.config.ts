import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // native tests load the addon: separate processes keep a crash contained and
    // let each file own its threads
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // a limit that only stops a hang, never a speed check: with another file's 2-thread work and a
    // busy core beside it, a CLI bench that takes 17 s alone ran past 120 s (flake run 1 of ad0859b)
    // and took 189 s in the next run; ggml's threads wait for each other by spinning, so a 2-thread
    // call slows far more than its share of the cores. A test or hook sets its own limit only to go
    // above these (no tighter one: flake run 1 of 3d76557 failed on a test's own 120 s)
    testTimeout: 600_000,
    hookTimeout: 300_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
