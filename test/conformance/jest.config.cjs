// Jest runs mediasoup's own API tests (@mafalda-sfu/mediasoup-node-tests) against the CommonJS
// build of tureen/sfu (dist/cjs, see scripts/build-cjs.mjs). Nothing is transformed: both are plain JS.
module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/*.test.cjs'],
  testEnvironment: 'node',
  transform: {},
  maxWorkers: 2,
};
