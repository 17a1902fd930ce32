// Half of mediasoup's API suites; the other half is in mediasoup-b.test.cjs (jest runs both in parallel).
require('./suites.cjs')([
  'ActiveSpeakerObserver',
  'Consumer',
  'DataConsumer',
  'multiopus',
  'ortc',
  'PlainTransport',
  'Router',
  'WebRtcTransport',
]);
