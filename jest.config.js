/** jest runs in ESM mode (NODE_OPTIONS=--experimental-vm-modules, see package.json) because
 * p-limit and file-type are ESM-only; @swc/jest strips types without type-checking (tsc does that).
 * test/serial/ holds suites that disturb shared services (they restart RabbitMQ): ./test.sh runs
 * them after the rest, one at a time, with JEST_SERIAL=1. */
const serial = process.env.JEST_SERIAL === '1';

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: serial ? ['<rootDir>/test/serial/**/*.test.ts'] : ['<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: serial ? ['/node_modules/'] : ['/node_modules/', '<rootDir>/test/serial/'],
  // Rebuilds dist/ first if the sources changed since (the e2e suites run dist/main.js).
  globalSetup: '<rootDir>/test/global-setup.mjs',
  testTimeout: serial ? 300_000 : 30_000,
  ...(serial ? { maxWorkers: 1 } : {}),
};
