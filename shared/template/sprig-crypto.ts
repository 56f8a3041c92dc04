// Sprig v3.3.0's password and symmetric-crypto helpers (crypto.go): bcrypt, htpasswd,
// derivePassword, encryptAES, decryptAES. Same bytes as Go for the same inputs and random bytes:
// derivePassword and decryptAES are deterministic and proven against Go in the differential spec;
// bcrypt and encryptAES take their salt / IV from the injected random source, and the spec checks
// that Go verifies and decrypts what they produce.
//
// bcrypt comes from bcryptjs (pure JavaScript, no dependencies, the most used bcrypt on npm):
// node:crypto has no bcrypt, and Blowfish is only in OpenSSL's legacy provider. Everything else
// is node:crypto.
import { createCipheriv, createDecipheriv, createHmac, scryptSync } from 'node:crypto';
import bcryptjs from 'bcryptjs';
import { FuncError } from './exec.ts';
import { bytesToGo, goToBytes } from './value.ts';

/** Go's error text for a value a function cannot take; never the value itself. */
const PANIC = 'runtime error: ';

// ---- bcrypt, htpasswd -------------------------------------------------------------------------

/** x/crypto/bcrypt's DefaultCost, which Sprig uses. */
const BCRYPT_COST = 10;

/**
 * Sprig's bcrypt: `$2a$10$` + salt + hash, as x/crypto/bcrypt writes it. Failures are the result
 * text, as in Sprig (it returns "failed to encrypt string with bcrypt: ..." instead of an error).
 */
export function bcryptHash(input: string, random: (n: number) => Uint8Array): string {
  const bytes = goToBytes(input);
  // x/crypto/bcrypt (since v0.18) refuses what bcrypt would silently truncate.
  if (bytes.length > 72) return 'failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes';
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let password: string;
  try {
    // bcryptjs takes text and hashes its UTF-8 bytes: the same bytes, for valid UTF-8.
    password = text.decode(bytes);
  } catch {
    throw new FuncError('bcrypt of a value that is not valid UTF-8 is not supported by this controller');
  }
  const salt = `$2a$${String(BCRYPT_COST).padStart(2, '0')}$${bcryptjs.encodeBase64(random(16), 16)}`;
  return bcryptjs.hashSync(password, salt);
}

export function htpasswd(username: string, password: string, random: (n: number) => Uint8Array): string {
  if (username.includes(':')) return `invalid username: ${username}`;
  return `${username}:${bcryptHash(password, random)}`;
}

// ---- derivePassword (Master Password algorithm, as Sprig implements it) -----------------------

const MASTER_PASSWORD_SEED = 'com.lyndir.masterpassword';

const PASSWORD_TEMPLATES: Readonly<Record<string, readonly string[]>> = {
  maximum: ['anoxxxxxxxxxxxxxxxxx', 'axxxxxxxxxxxxxxxxxno'],
  long: [
    'CvcvnoCvcvCvcv', 'CvcvCvcvnoCvcv', 'CvcvCvcvCvcvno', 'CvccnoCvcvCvcv', 'CvccCvcvnoCvcv',
    'CvccCvcvCvcvno', 'CvcvnoCvccCvcv', 'CvcvCvccnoCvcv', 'CvcvCvccCvcvno', 'CvcvnoCvcvCvcc',
    'CvcvCvcvnoCvcc', 'CvcvCvcvCvccno', 'CvccnoCvccCvcv', 'CvccCvccnoCvcv', 'CvccCvccCvcvno',
    'CvcvnoCvccCvcc', 'CvcvCvccnoCvcc', 'CvcvCvccCvccno', 'CvccnoCvcvCvcc', 'CvccCvcvnoCvcc',
    'CvccCvcvCvccno',
  ],
  medium: ['CvcnoCvc', 'CvcCvcno'],
  short: ['Cvcn'],
  basic: ['aaanaaan', 'aannaaan', 'aaannaaa'],
  pin: ['nnnn'],
};

const TEMPLATE_CHARACTERS: Readonly<Record<string, string>> = {
  V: 'AEIOU',
  C: 'BCDFGHJKLMNPQRSTVWXYZ',
  v: 'aeiou',
  c: 'bcdfghjklmnpqrstvwxyz',
  A: 'AEIOUBCDFGHJKLMNPQRSTVWXYZ',
  a: 'AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz',
  n: '0123456789',
  o: "@&%?,=[]_:-+*$#!'^~;()/.",
  x: 'AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()',
};

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** scrypt N=32768, r=8, p=2 needs 128*N*r bytes (32 MiB) plus a little: allow 64 MiB. */
const SCRYPT_MAXMEM = 64 * 1024 * 1024;

export function derivePassword(counter: number, passwordType: string, password: string, user: string, site: string): string {
  const templates = Object.hasOwn(PASSWORD_TEMPLATES, passwordType) ? PASSWORD_TEMPLATES[passwordType] : undefined;
  if (!templates) return `cannot find password template ${passwordType}`;
  const seed = Buffer.from(MASTER_PASSWORD_SEED, 'latin1');
  const userBytes = Buffer.from(goToBytes(user));
  const siteBytes = Buffer.from(goToBytes(site));
  const salt = Buffer.concat([seed, u32(userBytes.length), userBytes]);
  const key = scryptSync(Buffer.from(goToBytes(password)), salt, 64, { N: 32768, r: 8, p: 2, maxmem: SCRYPT_MAXMEM });
  const mac = createHmac('sha256', key).update(Buffer.concat([seed, u32(siteBytes.length), siteBytes, u32(counter)])).digest();
  const template = templates[mac[0]! % templates.length]!;
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const chars = TEMPLATE_CHARACTERS[template[i]!]!;
    out += chars[mac[i + 1]! % chars.length];
  }
  return out;
}

// ---- encryptAES, decryptAES: AES-256-CBC, PKCS#7 padding, random IV first, base64 -------------

/** Sprig's key: the password's bytes, cut or zero-padded to 32. */
function aesKey(password: string): Buffer {
  const key = Buffer.alloc(32);
  Buffer.from(goToBytes(password)).copy(key, 0, 0, 32);
  return key;
}

export function encryptAES(password: string, plaintext: string, random: (n: number) => Uint8Array): string {
  if (plaintext === '') return '';
  const iv = Buffer.from(random(16));
  const cipher = createCipheriv('aes-256-cbc', aesKey(password), iv); // PKCS#7 padding, as Sprig pads
  return Buffer.concat([iv, cipher.update(goToBytes(plaintext)), cipher.final()]).toString('base64');
}

/**
 * Sprig's decryptAES, including what it does not check: the padding is not verified, only its
 * last byte says how much to cut. Where Go panics (too short, not whole blocks, a pad longer than
 * the text) text/template reports the panic as the call's error; so do we, with Go's text.
 */
export function decryptAES(password: string, crypt64: string, decode: (s: string) => { out: string; error?: string }): string {
  if (crypt64 === '') return '';
  const decoded = decode(crypt64);
  if (decoded.error !== undefined) throw new FuncError(decoded.error);
  const crypt = Buffer.from(goToBytes(decoded.out));
  if (crypt.length < 16) throw new FuncError(`${PANIC}slice bounds out of range [:16] with capacity ${crypt.length}`);
  const body = crypt.subarray(16);
  if (body.length % 16 !== 0) throw new FuncError('crypto/cipher: input not full blocks');
  if (body.length === 0) throw new FuncError(`${PANIC}index out of range [-1]`);
  const decipher = createDecipheriv('aes-256-cbc', aesKey(password), crypt.subarray(0, 16));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(body), decipher.final()]);
  const cut = plain.length - plain[plain.length - 1]!;
  if (cut < 0) throw new FuncError(`${PANIC}slice bounds out of range [:${cut}]`);
  return bytesToGo(plain.subarray(0, cut));
}
