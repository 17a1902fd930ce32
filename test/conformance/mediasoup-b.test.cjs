// Half of mediasoup's API suites; the other half is in mediasoup-a.test.cjs (jest runs both in parallel).
require('./suites.cjs')([
  'AudioLevelObserver',
  'DataProducer',
  'DirectTransport',
  'mediasoup',
  'node-sctp',
  'PipeTransport',
  'Producer',
  'WebRtcServer',
  'Worker',
]);
