import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Scenario tests spawn the built binary; give slow shared machines room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
