/**
 * The sealed value's byte layout (see crypto.ts for the whole format), written once for every
 * sealer: crypto.ts seals with node:crypto (synchronous, the CLI's and the controller's path) and
 * sealWithWebCrypto below seals with WebCrypto (asynchronous, the browser page's path; Node has it
 * too, which is how the two are tested against each other). No node: imports and no Buffer here,
 * so the page's bundle can use this file as it is.
 *
 *   uint16 big-endian L || RSA-OAEP(SHA-256, label)(session key) [L bytes] || AES-256-GCM(body) || tag
 */
/** A WebCrypto key, as far as this file cares (the DOM's and Node's typings differ elsewhere). */
export interface WebKey {
  readonly type: string;
}

type Bytes = Uint8Array<ArrayBuffer>;

/** The part of WebCrypto's SubtleCrypto used here: browsers' and Node's both fit. */
export interface Subtle {
  importKey(format: 'spki' | 'raw', keyData: Bytes, algorithm: { name: string; hash?: string }, extractable: boolean, usages: 'encrypt'[]): Promise<WebKey>;
  encrypt(algorithm: { name: string; label?: Bytes; iv?: Bytes; tagLength?: number }, key: WebKey, data: Bytes): Promise<ArrayBuffer>;
}

const platformSubtle = (): Subtle => globalThis.crypto.subtle as unknown as Subtle;

/** Length of the fresh AES-256 key sealed in the RSA part. */
export const SESSION_KEY_BYTES = 32;
/** Length of the GCM tag at the end of every sealed value. */
export const GCM_TAG_BYTES = 16;
/** GCM nonce length; the nonce is all zeros, safe only because every session key is used once. */
export const NONCE_BYTES = 12;
export const LENGTH_PREFIX_BYTES = 2;

/** Source of randomness, injected so tests can pin it. Must return `size` fresh bytes. */
export type Random = (size: number) => Uint8Array;

/** A session key from `random`, checked for length (a short key would silently weaken AES). */
export function sessionKeyFrom(random: Random): Uint8Array {
  const key = random(SESSION_KEY_BYTES);
  if (key.length !== SESSION_KEY_BYTES) throw new Error('random source returned the wrong number of bytes');
  return key;
}

/** prefix || rsaPart || aesPart: the one place the layout is written. */
export function frameCiphertext(rsaPart: Uint8Array, aesPart: Uint8Array): Uint8Array {
  if (rsaPart.length > 0xffff) throw new Error('RSA ciphertext longer than the 16-bit length prefix can announce');
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + rsaPart.length + aesPart.length);
  out[0] = rsaPart.length >>> 8;
  out[1] = rsaPart.length & 0xff;
  out.set(rsaPart, LENGTH_PREFIX_BYTES);
  out.set(aesPart, LENGTH_PREFIX_BYTES + rsaPart.length);
  return out;
}

/** The parameters every sealer uses: RSA-OAEP with SHA-256 (and MGF1-SHA-256), as upstream's rsa.EncryptOAEP(sha256.New(), ...). */
export const RSA_OAEP_IMPORT = { name: 'RSA-OAEP', hash: 'SHA-256' } as const;

/** A sealing public key for WebCrypto, from the DER SubjectPublicKeyInfo of the certificate. */
export async function importSealingKey(spki: Uint8Array, subtle: Subtle = platformSubtle()): Promise<WebKey> {
  return subtle.importKey('spki', spki as Bytes, RSA_OAEP_IMPORT, false, ['encrypt']);
}

/**
 * Seal `plaintext` with WebCrypto: the same bytes as crypto.ts's hybridEncrypt for the same session
 * key, except the RSA part, whose OAEP seed WebCrypto draws itself.
 */
export async function sealWithWebCrypto(
  publicKey: WebKey,
  plaintext: Uint8Array,
  label: Uint8Array,
  random: Random,
  subtle: Subtle = platformSubtle(),
): Promise<Uint8Array> {
  const sessionKey = sessionKeyFrom(random);
  const rsaPart = await subtle.encrypt({ name: 'RSA-OAEP', label: label as Bytes }, publicKey, sessionKey as Bytes);
  const aesKey = await subtle.importKey('raw', sessionKey as Bytes, { name: 'AES-GCM' }, false, ['encrypt']);
  // WebCrypto appends the tag to the ciphertext, as Go's aead.Seal does.
  const aesPart = await subtle.encrypt(
    { name: 'AES-GCM', iv: new Uint8Array(NONCE_BYTES), tagLength: GCM_TAG_BYTES * 8 },
    aesKey,
    plaintext as Bytes,
  );
  return frameCiphertext(new Uint8Array(rsaPart), new Uint8Array(aesPart));
}
