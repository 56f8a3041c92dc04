/**
 * The sealed-secrets ciphertext format, byte-compatible with upstream's `HybridEncrypt`
 * (bitnami-labs/sealed-secrets pkg/crypto). One value is sealed as:
 *
 *   offset 0      uint16, big-endian: L = length of the RSA ciphertext (= modulus bytes, 512 for RSA-4096)
 *   offset 2      RSA-OAEP(SHA-256, MGF1-SHA-256, label)(32-byte session key), L bytes
 *   offset 2+L    AES-256-GCM(session key, nonce = 12 zero bytes, no AAD)(plaintext)
 *   end - 16      the 16-byte GCM tag
 *
 * and written as standard, padded base64. A zero nonce is safe only because every session key is
 * fresh and used once. The label binds the ciphertext to its scope (see scope.ts): decrypting with
 * another label fails in the RSA step, which is how a SealedSecret cannot be renamed or moved.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  privateDecrypt,
  publicEncrypt,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { DecryptError } from './errors.ts';
import { frameCiphertext, GCM_TAG_BYTES, LENGTH_PREFIX_BYTES, NONCE_BYTES, SESSION_KEY_BYTES, sessionKeyFrom, type Random } from './wire-format.ts';

// The layout and its constants are defined once, in wire-format.ts (the browser page seals with it too).
export { GCM_TAG_BYTES, SESSION_KEY_BYTES, type Random };
const ZERO_NONCE = Buffer.alloc(NONCE_BYTES);

/** Seal `plaintext` for the holder of the private half of `publicKey`, bound to `label`. */
export function hybridEncrypt(
  publicKey: KeyObject,
  plaintext: Uint8Array,
  label: Uint8Array,
  random: Random,
): Buffer {
  const sessionKey = sessionKeyFrom(random);
  const rsaPart = publicEncrypt(
    { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label },
    sessionKey,
  );
  const cipher = createCipheriv('aes-256-gcm', sessionKey, ZERO_NONCE);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  const framed = frameCiphertext(rsaPart, body);
  return Buffer.from(framed.buffer, framed.byteOffset, framed.byteLength);
}

/** The two parts of a sealed value. */
export interface CiphertextParts {
  /** RSA-OAEP ciphertext of the session key. */
  readonly rsaPart: Buffer;
  /** AES-256-GCM ciphertext followed by its tag. */
  readonly aesPart: Buffer;
}

/** Split a sealed value at its length prefix; refuses values shorter than the prefix announces. */
export function splitCiphertext(ciphertext: Uint8Array): CiphertextParts {
  const bytes = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength);
  if (bytes.length < LENGTH_PREFIX_BYTES) {
    throw new DecryptError('malformed', 'ciphertext is too short: it is truncated or not a sealed value');
  }
  const rsaLength = bytes.readUInt16BE(0);
  const rsaEnd = LENGTH_PREFIX_BYTES + rsaLength;
  if (bytes.length < rsaEnd + GCM_TAG_BYTES) {
    throw new DecryptError(
      'malformed',
      `ciphertext is too short: its length prefix announces ${rsaLength} RSA bytes but only ${bytes.length} bytes are present in all; it is truncated or not a sealed value`,
    );
  }
  return { rsaPart: bytes.subarray(LENGTH_PREFIX_BYTES, rsaEnd), aesPart: bytes.subarray(rsaEnd) };
}

/** Modulus length in bytes of an RSA key (the length of every RSA ciphertext it produces or opens). */
export function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new Error('not an RSA key');
  return Math.ceil(bits / 8);
}

/**
 * Open the RSA part with one key. Returns undefined when this key (with this label) does not open
 * it, which costs one RSA private operation unless the sizes already rule the key out.
 */
export function openSessionKey(privateKey: KeyObject, rsaPart: Buffer, label: Uint8Array): Buffer | undefined {
  if (rsaPart.length !== modulusBytes(privateKey)) return undefined;
  try {
    const key = privateDecrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label },
      rsaPart,
    );
    return key.length === SESSION_KEY_BYTES ? key : undefined;
  } catch {
    return undefined;
  }
}

/** Decrypt and authenticate the AES part with an opened session key. */
export function openBody(sessionKey: Buffer, aesPart: Buffer): Buffer {
  const body = aesPart.subarray(0, aesPart.length - GCM_TAG_BYTES);
  const tag = aesPart.subarray(aesPart.length - GCM_TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', sessionKey, ZERO_NONCE);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new DecryptError('tampered', 'ciphertext was modified: its authentication tag does not match');
  }
}

/** Result of a successful decryption: the plaintext and which of the given keys opened it. */
export interface Decrypted {
  readonly plaintext: Buffer;
  readonly keyIndex: number;
}

/**
 * Open a sealed value with the first of `keys` that fits, trying them in the order given (callers
 * put the likeliest key first: each miss costs one RSA private operation).
 */
export function hybridDecrypt(keys: readonly KeyObject[], ciphertext: Uint8Array, label: Uint8Array): Decrypted {
  const { rsaPart, aesPart } = splitCiphertext(ciphertext);
  for (const [keyIndex, key] of keys.entries()) {
    const sessionKey = openSessionKey(key, rsaPart, label);
    if (sessionKey !== undefined) return { plaintext: openBody(sessionKey, aesPart), keyIndex };
  }
  throw new DecryptError('no-key', 'no key could decrypt secret');
}

/**
 * A private key that opens session keys asynchronously. The controller's: WebCrypto's
 * RSA-OAEP decrypt runs on libuv's thread pool, so RSA never blocks the event loop and needs no
 * worker thread (each a whole V8 isolate, ~15 MiB idle).
 */
export interface SessionKeyOpener {
  /** Modulus bytes: a ciphertext of another length cannot be this key's (no RSA operation spent). */
  readonly modulusBytes: number;
  /**
   * The modulus, big-endian, modulusBytes long: a ciphertext not below it cannot be this key's
   * either (RSA ciphertexts are residues mod n). With several keys of one size, about one wrong
   * key in ten is ruled out so, without a job on the thread pool.
   */
  readonly modulus?: Buffer;
  /** The session key, or undefined when this key (with this label) does not open `rsaPart`. */
  open(rsaPart: Buffer, label: Uint8Array): Promise<Buffer | undefined>;
}

/** A SessionKeyOpener on WebCrypto, from a node:crypto private key (RSA-OAEP, SHA-256, MGF1-SHA-256). */
export function webCryptoOpener(privateKey: KeyObject): SessionKeyOpener {
  const key = privateKey.toCryptoKey({ name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt']);
  const bytes = modulusBytes(privateKey);
  const n = privateKey.export({ format: 'jwk' }).n;
  const modulus = n === undefined ? undefined : Buffer.from(n, 'base64url');
  return {
    modulusBytes: bytes,
    // Only as long as the ciphertexts it compares with (a JWK drops no bytes of a full-size modulus; checked, not assumed).
    ...(modulus?.length === bytes ? { modulus } : {}),
    async open(rsaPart, label) {
      try {
        const opened = Buffer.from(await webcrypto.subtle.decrypt({ name: 'RSA-OAEP', label }, key, rsaPart));
        return opened.length === SESSION_KEY_BYTES ? opened : undefined;
      } catch {
        // OperationError: wrong key or label, or not OAEP at all; WebCrypto does not say which.
        return undefined;
      }
    },
  };
}

/** hybridDecrypt with asynchronous keys: the same order, the same errors. */
export async function hybridDecryptAsync(keys: readonly SessionKeyOpener[], ciphertext: Uint8Array, label: Uint8Array): Promise<Decrypted> {
  const { rsaPart, aesPart } = splitCiphertext(ciphertext);
  for (const [keyIndex, key] of keys.entries()) {
    if (rsaPart.length !== key.modulusBytes || (key.modulus !== undefined && Buffer.compare(rsaPart, key.modulus) >= 0)) continue;
    const sessionKey = await key.open(rsaPart, label);
    if (sessionKey !== undefined) return { plaintext: openBody(sessionKey, aesPart), keyIndex };
  }
  throw new DecryptError('no-key', 'no key could decrypt secret');
}
