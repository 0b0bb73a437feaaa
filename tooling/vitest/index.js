// Shared vitest settings: unit tests sit beside the source (src/**/*.test.ts).
// Single fork, since the CI box has 2 cores and several suites load real models.
export const shared = {
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
};
export default shared;
