import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  inspectH264,
  inspectVp8,
  inspectVp9,
  PayloadInfo,
  Vp8DescriptorRewriter,
} from '../../src/media/codecs.js';
import { vp8Payload } from './helpers.js';

test('VP8: descriptor fields, keyframe with size, inter frame, continuation', () => {
  const info = new PayloadInfo();
  const key = vp8Payload({
    start: true,
    keyFrame: true,
    pictureId: 0x1234,
    tl0: 7,
    tid: 2,
    sync: true,
    width: 1280,
    height: 720,
  });
  assert.ok(inspectVp8(key, 0, key.length, info));
  assert.equal(info.keyFrame, true);
  assert.equal(info.startOfFrame, true);
  assert.equal(info.pictureId, 0x1234);
  assert.equal(info.pictureIdLong, true);
  assert.equal(info.tl0PicIdx, 7);
  assert.equal(info.temporalLayerId, 2);
  assert.equal(info.layerSync, true);
  assert.equal(info.width, 1280);
  assert.equal(info.height, 720);
  assert.equal(info.descriptorEnd, 6);

  const inter = vp8Payload({ start: true, pictureId: 5, tid: 1 });
  assert.ok(inspectVp8(inter, 0, inter.length, info));
  assert.equal(info.keyFrame, false);
  assert.equal(info.startOfFrame, true);
  assert.equal(info.temporalLayerId, 1);
  assert.equal(info.layerSync, false);

  const middle = vp8Payload({ start: false, keyFrame: true });
  assert.ok(inspectVp8(middle, 0, middle.length, info));
  assert.equal(info.startOfFrame, false);
  assert.equal(info.keyFrame, false);

  // 7-bit PictureID, no extension fields beyond I; inside a larger buffer at an offset.
  const short = Buffer.from([
    0xff, 0xff, 0x90, 0x80, 0x25, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00,
  ]);
  assert.ok(inspectVp8(short, 2, short.length - 2, info));
  assert.equal(info.pictureId, 0x25);
  assert.equal(info.pictureIdLong, false);
  assert.equal(info.tl0PicIdx, -1);
  assert.equal(info.temporalLayerId, -1);
  assert.equal(info.keyFrame, true);
  assert.equal(info.width, 320);
  assert.equal(info.height, 240);

  // Truncated descriptor.
  assert.equal(inspectVp8(Buffer.from([0x90, 0x80]), 0, 2, info), false);
  assert.equal(inspectVp8(key, 0, 0, info), false);
  assert.equal(inspectVp8(key, 5, key.length, info), false, 'range outside the buffer');
});

test('H264: single NAL, STAP-A, FU-A start and continuation', () => {
  const info = new PayloadInfo();
  const check = (bytes: number[], ok: boolean, keyFrame: boolean, start: boolean) => {
    const b = Buffer.from(bytes);
    assert.equal(inspectH264(b, 0, b.length, info), ok, `ok for ${bytes}`);
    if (ok) {
      assert.equal(info.keyFrame, keyFrame, `keyframe for ${bytes}`);
      assert.equal(info.startOfFrame, start, `start for ${bytes}`);
    }
  };
  check([0x65, 1, 2], true, true, true); // IDR
  check([0x67, 1, 2], true, true, true); // SPS
  check([0x41, 1, 2], true, false, true); // non-IDR slice
  // STAP-A with SPS (3 bytes) and PPS (2 bytes).
  check([0x78, 0, 3, 0x67, 1, 2, 0, 2, 0x68, 1], true, true, true);
  check([0x78, 0, 2, 0x41, 1], true, false, true);
  check([0x78, 0, 9, 0x67, 1], false, false, false); // size overruns
  check([0x7c, 0x85, 1, 2], true, true, true); // FU-A start of IDR
  check([0x7c, 0x05, 1, 2], true, false, false); // FU-A continuation
  check([0x7c, 0x81, 1, 2], true, false, true); // FU-A start of non-IDR
  check([0x7c], false, false, false);
  check([0x79, 0], false, false, false); // STAP-B: unsupported
});

test('VP9: non-flexible keyframe with scalability structure; flexible inter frame', () => {
  const info = new PayloadInfo();
  // I P L F B E V Z = 1 0 1 0 1 0 1 0; 15-bit pid; L: tid 0, U 0, sid 0, D 0; tl0 = 3;
  // SS: N_S = 0 (one layer), Y = 1, G = 0; 640x360.
  const key = Buffer.from([0xaa, 0x80 | 0x01, 0x02, 0x00, 0x03, 0x10, 0x02, 0x80, 0x01, 0x68, 0xaa, 0xbb]);
  assert.ok(inspectVp9(key, 0, key.length, info));
  assert.equal(info.keyFrame, true);
  assert.equal(info.pictureId, 0x102);
  assert.equal(info.spatialLayerId, 0);
  assert.equal(info.tl0PicIdx, 3);
  assert.equal(info.width, 640);
  assert.equal(info.height, 360);
  // Flexible, inter (P), L with tid 2 sid 1, two P_DIFFs.
  const inter = Buffer.from([0x80 | 0x40 | 0x20 | 0x10 | 0x08, 0x11, (2 << 5) | (1 << 1), 0x03, 0x04, 0xaa]);
  assert.ok(inspectVp9(inter, 0, inter.length, info));
  assert.equal(info.keyFrame, false);
  assert.equal(info.temporalLayerId, 2);
  assert.equal(info.spatialLayerId, 1);
  assert.equal(info.descriptorEnd, 5);
  // Four P_DIFFs (N set on the third): malformed.
  assert.equal(inspectVp9(Buffer.from([0xf8, 0x11, 0x40, 0x03, 0x03, 0x03, 0x03]), 0, 7, info), false);
});

test('VP8 descriptor rewriter: PictureID and TL0PICIDX continue across a source switch', () => {
  const info = new PayloadInfo();
  const rewriter = new Vp8DescriptorRewriter();
  const pass = (payload: Buffer) => {
    assert.ok(inspectVp8(payload, 0, payload.length, info));
    rewriter.rewrite(payload, info);
    assert.ok(inspectVp8(payload, 0, payload.length, info));
    return [info.pictureId, info.tl0PicIdx];
  };
  assert.deepEqual(
    pass(vp8Payload({ start: true, keyFrame: true, pictureId: 0x7ffe, tl0: 255 })),
    [0x7ffe, 255],
  );
  assert.deepEqual(pass(vp8Payload({ start: true, pictureId: 0x7fff, tl0: 0 })), [0x7fff, 0]);
  rewriter.switchSource();
  // The other stream's numbering is unrelated; the output continues.
  assert.deepEqual(pass(vp8Payload({ start: true, keyFrame: true, pictureId: 1234, tl0: 77 })), [0, 1]);
  assert.deepEqual(pass(vp8Payload({ start: true, pictureId: 1235, tl0: 78 })), [1, 2]);
  // A late packet of an earlier frame maps back consistently.
  assert.deepEqual(pass(vp8Payload({ start: false, pictureId: 1234, tl0: 77 })), [0, 1]);
  // 7-bit PictureID is written in 7 bits.
  const short = Buffer.from([0x90, 0x80, 0x25, 0x01]);
  rewriter.switchSource();
  assert.ok(inspectVp8(short, 0, short.length, info));
  rewriter.rewrite(short, info);
  assert.equal(short[2], 2);
});

test('H264: frame size from an SPS (mux.js test vector: 720×404, emulation prevention, cropping)', () => {
  const info = new PayloadInfo();
  const sps = [103, 66, 192, 30, 217, 0, 180, 53, 249, 225, 0, 0, 3, 0, 1, 0, 0, 3, 0, 60, 15, 22, 46, 72];
  const single = Buffer.from(sps);
  assert.ok(inspectH264(single, 0, single.length, info));
  assert.equal(info.keyFrame, true);
  assert.equal(info.width, 720);
  assert.equal(info.height, 404);
  // The same SPS inside a STAP-A with a PPS after it.
  const stap = Buffer.from([0x78, 0, sps.length, ...sps, 0, 4, 0x68, 0xce, 0x3c, 0x80]);
  assert.ok(inspectH264(stap, 0, stap.length, info));
  assert.equal(info.width, 720);
  assert.equal(info.height, 404);
  // Truncated: still a keyframe, size unknown.
  assert.ok(inspectH264(single, 0, 8, info));
  assert.equal(info.keyFrame, true);
  assert.equal(info.width, 0);
});
