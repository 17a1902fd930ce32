/**
 * ICE-lite agent, always controlled (RFC 8445 §2.5, §7.3): answers connectivity checks with
 * short-term credentials, keeps the set of valid 5-tuples, selects one by nomination
 * (USE-CANDIDATE, or the NOMINATION attribute for renomination), and drops tuples whose consent
 * expired (RFC 7675). It owns no socket: listeners hand it STUN and packets with their tuple.
 *
 * Only an authenticated request (right FINGERPRINT, USERNAME, MESSAGE-INTEGRITY with our
 * password) ever changes state. Everything else is answered with an unauthenticated error or
 * dropped.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import {
  decodeUint32,
  isComprehensionRequired,
  StunAttr,
  StunClass,
  type StunMessage,
  StunMethod,
  shortTermKey,
  verifyFingerprint,
  verifyMessageIntegrity,
} from '../../wire/stun/index.js';
import {
  buildBindingError,
  buildBindingSuccess,
  generateIceParameters,
  type IceParameters,
} from './binding.js';
import { type IceTuple, type IceTupleOwner, tupleToString } from './tuple.js';

export type IceState = 'new' | 'connected' | 'completed' | 'disconnected' | 'closed';

export interface IceLiteServerOptions {
  /** Defaults to fresh random credentials. */
  usernameFragment?: string;
  password?: string;
  /** The peer's ufrag from its description: when set, USERNAME must be `<ours>:<theirs>`. */
  remoteUsernameFragment?: string;
  /** Milliseconds without an authenticated request before a tuple loses consent (default 30 000). */
  consentTimeout?: number;
  /** Most valid tuples kept at once; the least recently refreshed one makes room (default 8). */
  maxTuples?: number;
  logger?: Logger;
}

export interface IceLiteServerEvents {
  statechange: [state: IceState];
  selectedtuplechange: [tuple: IceTuple | undefined];
  /** After restart(): listeners re-key the server by its new ufrag. */
  usernamefragmentchange: [oldUsernameFragment: string];
}

/** Comprehension-optional attributes and the comprehension-required ones ICE checks carry. */
const UNDERSTOOD_ATTRIBUTES: ReadonlySet<number> = new Set([
  StunAttr.Username,
  StunAttr.MessageIntegrity,
  StunAttr.MessageIntegritySha256,
  StunAttr.Fingerprint,
  StunAttr.Priority,
  StunAttr.UseCandidate,
  StunAttr.IceControlled,
  StunAttr.IceControlling,
]);

/** RFC 8839 §5.4: ufrag ≥ 4 and password ≥ 22 characters; a colon would break USERNAME parsing. */
function checkCredentials(usernameFragment: string, password: string): void {
  if (usernameFragment.length < 4 || usernameFragment.length > 256 || usernameFragment.includes(':')) {
    throw new TypeError('usernameFragment must be 4..256 characters without a colon');
  }
  if (password.length < 22 || password.length > 256)
    throw new TypeError('ICE password must be 22..256 characters');
}

interface TupleEntry {
  tuple: IceTuple;
  /** performance.now() of the last authenticated request on this tuple. */
  lastConsent: number;
}

export class IceLiteServer extends EventEmitter<IceLiteServerEvents> implements IceTupleOwner {
  /** Set by the owner (the endpoint): every non-STUN packet from a valid tuple. Hot path. */
  onPacket: (buf: Buffer, tuple: IceTuple) => void = () => {};

  private ufrag: string;
  private ufragBytes: Buffer;
  private pwd: string;
  private key: Buffer;
  private remoteUfrag: string | undefined;
  private readonly consentTimeout: number;
  private readonly maxTuples: number;
  private readonly logger: Logger;
  private readonly entries: TupleEntry[] = [];
  private selected: TupleEntry | undefined;
  private currentState: IceState = 'new';
  /** Highest NOMINATION value seen since the last restart (renomination). */
  private nomination = 0;
  private consentTimer: NodeJS.Timeout | undefined;

  constructor(options: IceLiteServerOptions = {}) {
    super();
    const generated = generateIceParameters();
    this.ufrag = options.usernameFragment ?? generated.usernameFragment;
    this.pwd = options.password ?? generated.password;
    checkCredentials(this.ufrag, this.pwd);
    this.ufragBytes = Buffer.from(this.ufrag, 'utf8');
    this.key = shortTermKey(this.pwd);
    this.remoteUfrag = options.remoteUsernameFragment;
    this.consentTimeout = options.consentTimeout ?? 30_000;
    if (!(this.consentTimeout > 0)) throw new TypeError('consentTimeout must be positive');
    this.maxTuples = options.maxTuples ?? 8;
    this.logger = options.logger ?? silentLogger;
  }

  get usernameFragment(): string {
    return this.ufrag;
  }

  get password(): string {
    return this.pwd;
  }

  get state(): IceState {
    return this.currentState;
  }

  get selectedTuple(): IceTuple | undefined {
    return this.selected?.tuple;
  }

  get tuples(): IceTuple[] {
    return this.entries.map((e) => e.tuple);
  }

  /** Sets (or clears) the peer's ufrag that USERNAME must carry after the colon. */
  setRemoteUsernameFragment(ufrag: string | undefined): void {
    this.remoteUfrag = ufrag;
  }

  isValidTuple(tuple: IceTuple): boolean {
    return this.entries.some((e) => e.tuple === tuple);
  }

  /**
   * ICE restart: new local credentials. Valid tuples stay (media keeps flowing) until their
   * consent, which now needs the new password, runs out.
   */
  restart(parameters: IceParameters = generateIceParameters()): IceParameters {
    if (this.currentState === 'closed') throw new Error('IceLiteServer closed');
    checkCredentials(parameters.usernameFragment, parameters.password);
    const old = this.ufrag;
    this.ufrag = parameters.usernameFragment;
    this.ufragBytes = Buffer.from(this.ufrag, 'utf8');
    this.pwd = parameters.password;
    this.key = shortTermKey(this.pwd);
    this.remoteUfrag = undefined;
    this.nomination = 0;
    this.emit('usernamefragmentchange', old);
    return { usernameFragment: this.ufrag, password: this.pwd };
  }

  handlePacket(buf: Buffer, tuple: IceTuple): void {
    this.onPacket(buf, tuple);
  }

  handleTupleClosed(tuple: IceTuple): void {
    const index = this.entries.findIndex((e) => e.tuple === tuple);
    if (index >= 0) this.removeEntry(index, false);
  }

  handleStun(message: StunMessage, tuple: IceTuple): void {
    if (this.currentState === 'closed') return;
    if (message.method !== StunMethod.Binding || message.cls !== StunClass.Request) return;
    // RFC 8445 §7.3: checks carry FINGERPRINT. A wrong one means it may not be STUN at all
    // (drop); a missing one is a plain STUN client (coturn's probe, say) and earns a 400.
    if (message.fingerprintOffset < 0) {
      tuple.send(buildBindingError(message, 400, 'Bad Request'));
      return;
    }
    if (!verifyFingerprint(message)) {
      this.logger.debug(
        { tuple: tupleToString(tuple) },
        'ice: Binding request with a bad FINGERPRINT dropped',
      );
      return;
    }
    const unknown: number[] = [];
    let username: Buffer | undefined;
    let priority = -1;
    let useCandidate = false;
    let controlled = false;
    let nomination = -1;
    for (const attribute of message.attributes) {
      switch (attribute.type) {
        case StunAttr.Username:
          username ??= attribute.value;
          break;
        case StunAttr.Priority:
          priority = decodeUint32(attribute.value);
          break;
        case StunAttr.UseCandidate:
          useCandidate = true;
          break;
        case StunAttr.IceControlled:
          controlled = true;
          break;
        case StunAttr.Nomination:
          nomination = decodeUint32(attribute.value);
          break;
        default:
          if (isComprehensionRequired(attribute.type) && !UNDERSTOOD_ATTRIBUTES.has(attribute.type)) {
            if (unknown.length < 16) unknown.push(attribute.type);
          }
      }
    }
    if (unknown.length > 0) {
      tuple.send(buildBindingError(message, 420, 'Unknown Attribute', unknown));
      return;
    }
    if (!username || message.integrityOffset < 0 || priority < 0) {
      tuple.send(buildBindingError(message, 400, 'Bad Request'));
      return;
    }
    if (!this.usernameMatches(username) || !verifyMessageIntegrity(message, this.key)) {
      this.logger.debug({ tuple: tupleToString(tuple) }, 'ice: Binding request failed authentication');
      tuple.send(buildBindingError(message, 401, 'Unauthorized'));
      return;
    }
    // A lite agent is always controlled (RFC 8445 §6.1.1); a peer that also claims to be
    // controlled must switch, which 487 tells it (§7.3.1.1).
    if (controlled) {
      tuple.send(buildBindingError(message, 487, 'Role Conflict'));
      return;
    }
    const response = buildBindingSuccess(message, tuple.remoteAddress, tuple.remotePort, this.key);
    if (!response) return;
    tuple.send(response);
    this.acceptCheck(tuple, useCandidate, nomination);
  }

  private usernameMatches(username: Buffer): boolean {
    const n = this.ufragBytes.length;
    if (username.length <= n || username[n] !== 0x3a) return false;
    if (!username.subarray(0, n).equals(this.ufragBytes)) return false;
    if (this.remoteUfrag === undefined) return true;
    return username.toString('utf8', n + 1) === this.remoteUfrag;
  }

  private acceptCheck(tuple: IceTuple, useCandidate: boolean, nomination: number): void {
    const now = performance.now();
    let entry = this.entries.find((e) => e.tuple === tuple);
    if (entry) {
      entry.lastConsent = now;
    } else {
      if (this.entries.length >= this.maxTuples) this.evictStalest();
      entry = { tuple, lastConsent: now };
      this.entries.push(entry);
      tuple.attach(this);
      this.logger.debug({ tuple: tupleToString(tuple) }, 'ice: valid tuple');
    }
    this.startConsentTimer();
    let nominated = false;
    if (nomination >= 0) {
      // Renomination: only a higher value than any seen moves the selection.
      if (nomination > this.nomination) {
        this.nomination = nomination;
        nominated = true;
      }
    } else {
      nominated = useCandidate;
    }
    if (nominated) {
      this.select(entry);
      this.setState('completed');
    } else if (!this.selected) {
      // Media may start before nomination (as mediasoup does): use the first valid tuple.
      this.select(entry);
      this.setState('connected');
    }
  }

  private select(entry: TupleEntry): void {
    if (this.selected === entry) return;
    this.selected = entry;
    this.emit('selectedtuplechange', entry.tuple);
  }

  private evictStalest(): void {
    let stalest = -1;
    for (let i = 0; i < this.entries.length; i++) {
      if (this.entries[i] === this.selected) continue;
      if (stalest < 0 || this.entries[i]!.lastConsent < this.entries[stalest]!.lastConsent) stalest = i;
    }
    if (stalest >= 0) this.removeEntry(stalest, true);
  }

  private removeEntry(index: number, detach: boolean): void {
    const [entry] = this.entries.splice(index, 1);
    if (!entry) return;
    if (detach) entry.tuple.detach(this);
    if (entry !== this.selected) return;
    this.selected = undefined;
    let freshest: TupleEntry | undefined;
    for (const e of this.entries) if (!freshest || e.lastConsent > freshest.lastConsent) freshest = e;
    if (freshest) {
      this.selected = freshest;
      this.emit('selectedtuplechange', freshest.tuple);
      if (this.currentState === 'completed') this.setState('connected');
    } else {
      this.emit('selectedtuplechange', undefined);
      this.setState('disconnected');
    }
  }

  private startConsentTimer(): void {
    if (this.consentTimer) return;
    const period = Math.max(50, Math.min(1000, this.consentTimeout / 4));
    this.consentTimer = setInterval(() => this.checkConsent(), period);
    this.consentTimer.unref();
  }

  private checkConsent(): void {
    const expired = performance.now() - this.consentTimeout;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i]!.lastConsent <= expired) {
        this.logger.debug({ tuple: tupleToString(this.entries[i]!.tuple) }, 'ice: consent expired');
        this.removeEntry(i, true);
      }
    }
    if (this.entries.length === 0 && this.consentTimer) {
      clearInterval(this.consentTimer);
      this.consentTimer = undefined;
    }
  }

  private setState(state: IceState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.emit('statechange', state);
  }

  close(): void {
    if (this.currentState === 'closed') return;
    if (this.consentTimer) clearInterval(this.consentTimer);
    this.consentTimer = undefined;
    for (const entry of this.entries.splice(0)) entry.tuple.detach(this);
    this.selected = undefined;
    this.currentState = 'closed';
    this.emit('statechange', 'closed');
    this.removeAllListeners();
    this.onPacket = () => {};
  }
}
