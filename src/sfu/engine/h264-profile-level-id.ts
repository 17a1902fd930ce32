/**
 * H.264 profile-level-id (RFC 6184 section 8.1) parsing and SDP offer/answer level selection,
 * as libwebrtc does it: codecs match only when profiles are equal; the answer's level is the
 * lower of both unless both sides allow level asymmetry.
 */

export type H264Profile =
  | 'ConstrainedBaseline'
  | 'Baseline'
  | 'Main'
  | 'ConstrainedHigh'
  | 'High'
  | 'PredictiveHigh444';

/** Level 1b sorts between 1 and 1.1, so it gets 0 and every other level its level_idc. */
const LEVEL_1B = 0;
const LEVELS = new Set([LEVEL_1B, 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52]);
const CONSTRAINT_SET3 = 0x10;
const DEFAULT_PROFILE_LEVEL_ID = '42e01f';

interface ProfilePattern {
  profileIdc: number;
  mask: number;
  value: number;
  profile: H264Profile;
}

/** `pattern` is 8 characters of '0', '1' or 'x' for the profile-iop bits, most significant first. */
function pattern(profileIdc: number, bits: string, profile: H264Profile): ProfilePattern {
  let mask = 0;
  let value = 0;
  for (const c of bits) {
    mask = (mask << 1) | (c === 'x' ? 0 : 1);
    value = (value << 1) | (c === '1' ? 1 : 0);
  }
  return { profileIdc, mask, value, profile };
}

const PROFILE_PATTERNS: ProfilePattern[] = [
  pattern(0x42, 'x1xx0000', 'ConstrainedBaseline'),
  pattern(0x4d, '1xxx0000', 'ConstrainedBaseline'),
  pattern(0x58, '11xx0000', 'ConstrainedBaseline'),
  pattern(0x42, 'x0xx0000', 'Baseline'),
  pattern(0x58, '10xx0000', 'Baseline'),
  pattern(0x4d, '0x0x0000', 'Main'),
  pattern(0x64, '00000000', 'High'),
  pattern(0x64, '00001100', 'ConstrainedHigh'),
  pattern(0xf4, '00000000', 'PredictiveHigh444'),
];

export interface ProfileLevelId {
  profile: H264Profile;
  level: number;
}

export function parseProfileLevelId(str: string): ProfileLevelId | undefined {
  if (typeof str !== 'string' || !/^[0-9a-fA-F]{6}$/.test(str)) return undefined;
  const n = Number.parseInt(str, 16);
  const levelIdc = n & 0xff;
  const profileIop = (n >> 8) & 0xff;
  const profileIdc = (n >> 16) & 0xff;
  let level: number;
  if (levelIdc === 11) level = profileIop & CONSTRAINT_SET3 ? LEVEL_1B : 11;
  else level = levelIdc;
  if (!LEVELS.has(level)) return undefined;
  for (const p of PROFILE_PATTERNS) {
    if (p.profileIdc === profileIdc && (profileIop & p.mask) === p.value)
      return { profile: p.profile, level };
  }
  return undefined;
}

const PROFILE_IOP: Record<H264Profile, string> = {
  ConstrainedBaseline: '42e0',
  Baseline: '4200',
  Main: '4d00',
  ConstrainedHigh: '640c',
  High: '6400',
  PredictiveHigh444: 'f400',
};

export function profileLevelIdToString({ profile, level }: ProfileLevelId): string | undefined {
  if (level === LEVEL_1B) {
    if (profile === 'ConstrainedBaseline') return '42f00b';
    if (profile === 'Baseline') return '42100b';
    if (profile === 'Main') return '4d100b';
    return undefined;
  }
  return `${PROFILE_IOP[profile]}${level.toString(16).padStart(2, '0')}`;
}

type Params = Record<string, string | number> | undefined;

function profileLevelIdOf(params: Params): ProfileLevelId | undefined {
  const value = params?.['profile-level-id'];
  return parseProfileLevelId(value === undefined ? DEFAULT_PROFILE_LEVEL_ID : String(value));
}

export function isSameProfile(a: Params, b: Params): boolean {
  const pa = profileLevelIdOf(a);
  const pb = profileLevelIdOf(b);
  return pa !== undefined && pb !== undefined && pa.profile === pb.profile;
}

function levelAsymmetryAllowed(params: Params): boolean {
  const value = params?.['level-asymmetry-allowed'];
  return value === 1 || value === '1';
}

/** profile-level-id for an answer to `remote` from `local`; undefined when neither side has one. Throws if they cannot match. */
export function profileLevelIdForAnswer(local: Params, remote: Params): string | undefined {
  if (local?.['profile-level-id'] === undefined && remote?.['profile-level-id'] === undefined)
    return undefined;
  const l = profileLevelIdOf(local);
  const r = profileLevelIdOf(remote);
  if (!l) throw new TypeError('invalid local profile-level-id');
  if (!r) throw new TypeError('invalid remote profile-level-id');
  if (l.profile !== r.profile) throw new TypeError('H264 profile mismatch');
  const level =
    levelAsymmetryAllowed(local) && levelAsymmetryAllowed(remote) ? l.level : Math.min(l.level, r.level);
  return profileLevelIdToString({ profile: l.profile, level });
}
