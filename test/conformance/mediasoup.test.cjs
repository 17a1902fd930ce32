// mediasoup 3.14.7's Node API test suite, parameterised by our implementation.
const path = require('node:path');

const sfu = require(path.join(__dirname, '..', '..', 'dist', 'cjs', 'sfu', 'index.js'));

require('@mafalda-sfu/mediasoup-node-tests')(sfu);
