// Per-packet cost of the STUN codec on the ICE-lite path, beside werift's STUN code in one run:
// (1) parse a Binding request and check MESSAGE-INTEGRITY and FINGERPRINT,
// (2) build the success response with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT.
// Run: npx tsx bench/turn-stun-codec.ts [iterations]
import { classes, Message, methods, parseMessage } from 'werift';
import {
  parseStun,
  StunAttr,
  StunBuilder,
  StunClass,
  StunMethod,
  StunParseError,
  verifyFingerprint,
  verifyMessageIntegrity,
} from '../src/wire/stun/index.js';

const iterations = Number(process.argv[2] ?? 200_000);
const key = Buffer.from('VOkJxbRl1RmTxUk/WvJxBt');
const request = new StunBuilder(StunMethod.Binding, StunClass.Request)
  .add(StunAttr.Username, 'evtj:h6vY')
  .addUint32(StunAttr.Priority, 0x6e0001ff)
  .addUint64(StunAttr.IceControlling, 0x932ff9b151263b36n)
  .addFlag(StunAttr.UseCandidate)
  .addMessageIntegrity(key)
  .addFingerprint()
  .build();

function time(label: string, fn: () => boolean): number {
  for (let i = 0; i < 20_000; i++) if (!fn()) throw new Error(`${label} failed`);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  return ns;
}

const oursParse = time('tureen parse', () => {
  const msg = parseStun(request);
  return !(msg instanceof StunParseError) && verifyMessageIntegrity(msg, key) && verifyFingerprint(msg);
});
const weriftParse = time('werift parse', () => parseMessage(request, key) !== undefined);

const txid = request.subarray(8, 20);
const oursBuild = time('tureen build', () => {
  const out = new StunBuilder(StunMethod.Binding, StunClass.SuccessResponse, txid)
    .addXorAddress(StunAttr.XorMappedAddress, '192.0.2.1', 32853)
    .addMessageIntegrity(key)
    .addFingerprint()
    .build();
  return out.length === 64;
});
const weriftBuild = time('werift build', () => {
  const out = new Message(methods.BINDING, classes.RESPONSE, txid)
    .setAttribute('XOR-MAPPED-ADDRESS', ['192.0.2.1', 32853])
    .addMessageIntegrity(key)
    .addFingerprint().bytes;
  return out.length === 64;
});

console.log(`STUN codec, ${iterations} iterations each (ns per message, lower is better)`);
console.log('operation                                   | tureen | werift | werift/tureen');
console.log(
  `parse request + check integrity + fingerprint | ${oursParse.toFixed(0).padStart(6)} | ${weriftParse.toFixed(0).padStart(6)} | ${(weriftParse / oursParse).toFixed(2)}`,
);
console.log(
  `build response (XOR-MAPPED, MI, FINGERPRINT)  | ${oursBuild.toFixed(0).padStart(6)} | ${weriftBuild.toFixed(0).padStart(6)} | ${(weriftBuild / oursBuild).toFixed(2)}`,
);
