// The client SDK's pure helpers: candidate parsing and filtering, TURN URL transports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loopbackCandidatesOnly, parseCandidate, turnTransportOf } from '../../src/client/index.js';

test('parseCandidate reads the fields of Chromium candidate lines', () => {
  assert.deepEqual(
    parseCandidate('candidate:4027995975 1 udp 2122194687 127.0.0.1 59858 typ host generation 0 ufrag nhbT'),
    { protocol: 'udp', address: '127.0.0.1', port: 59858, type: 'host' },
  );
  assert.deepEqual(
    parseCandidate(
      'a=candidate:540233739 1 UDP 58466559 127.0.0.1 52429 typ relay raddr 192.0.2.2 rport 39022',
    ),
    { protocol: 'udp', address: '127.0.0.1', port: 52429, type: 'relay' },
  );
  assert.deepEqual(parseCandidate('candidate:529568091 1 tcp 1518288127 ::1 9 typ host tcptype active'), {
    protocol: 'tcp',
    address: '::1',
    port: 9,
    type: 'host',
  });
  assert.equal(parseCandidate('candidate:1 1 udp 1 127.0.0.1 x typ host'), undefined);
  assert.equal(parseCandidate('candidate:1 1 udp 1 127.0.0.1 5000 host'), undefined);
  assert.equal(parseCandidate(''), undefined);
});

test('loopbackCandidatesOnly keeps 127.0.0.1 and drops the machine’s other addresses', () => {
  const lines = [
    'candidate:1 1 udp 2122194687 127.0.0.1 59858 typ host',
    'candidate:2 1 udp 2122063615 192.0.2.2 39022 typ host',
    'candidate:3 1 udp 2122134271 fd00::2 58430 typ host',
    'candidate:4 1 udp 58466559 127.0.0.1 52429 typ relay raddr 192.0.2.2 rport 39022',
    'candidate:5 1 udp 2122194687 abcd-ef.local 59858 typ host',
  ];
  const kept = lines.filter((line) => loopbackCandidatesOnly(parseCandidate(line)!));
  assert.deepEqual(kept, [lines[0], lines[3]]);
});

test('turnTransportOf tells TURN transports apart and leaves STUN alone', () => {
  assert.equal(turnTransportOf('turn:127.0.0.1:3478?transport=udp'), 'udp');
  assert.equal(turnTransportOf('turn:127.0.0.1:3478'), 'udp');
  assert.equal(turnTransportOf('turn:127.0.0.1:3478?transport=tcp'), 'tcp');
  assert.equal(turnTransportOf('turns:turn.example.com:5349?transport=tcp'), 'tls');
  assert.equal(turnTransportOf('stun:127.0.0.1:3478'), undefined);
});
