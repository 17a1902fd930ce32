// Runs some of mediasoup 3.14.7's Node API test suites (@mafalda-sfu/mediasoup-node-tests)
// against the CommonJS build of tureen/sfu, under the same names as the package's index.js
// gives them, so results can be compared with known-failures.json whichever file ran them.
const path = require('node:path');

const sfu = require(path.join(__dirname, '..', '..', 'dist', 'cjs', 'sfu', 'index.js'));

module.exports = function runSuites(names) {
  describe('Mediasoup node tests', () => {
    // The Worker suite compares workerBin with this variable (as the package's index.js sets it).
    process.env.MEDIASOUP_WORKER_BIN = sfu.workerBin;
    for (const name of names) require(`@mafalda-sfu/mediasoup-node-tests/${name}`).default(sfu);
  });
};
