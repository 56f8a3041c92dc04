/**
 * What the template engine (shared/template) takes from Node, for the page's template preview
 * only (scripts/web-bundle.ts points the page bundle's node:crypto and Buffer here): Buffer's
 * base64 and hex encodings, which sprig's b64enc and fmt use, and createHash, which the browser has
 * only asynchronously, so the hash functions (sha1sum, sha256sum, ...) say they cannot preview;
 * likewise Sprig's crypto helpers (encryptAES, derivePassword, genCA, ...), which need node:crypto,
 * and node:net's isIP, which only certificate generation uses.
 */
import { encodeBase64 } from '../shared/base64.ts';

export const Buffer = {
  from(bytes: Uint8Array) {
    return {
      toString(encoding: 'base64' | 'hex'): string {
        if (encoding === 'base64') return encodeBase64(bytes);
        return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
      },
    };
  },
};

export function createHash(algorithm: string): never {
  throw new Error(`the ${algorithm} hash functions cannot be previewed in the browser; the controller renders them`);
}

/** The preview's stand-in for each node:crypto or node:net function the template engine imports. */
function cannotPreview(what: string): () => never {
  return () => {
    throw new Error(`${what} cannot be previewed in the browser; the controller renders it`);
  };
}
export const createCipheriv = cannotPreview('encryptAES');
export const createDecipheriv = cannotPreview('decryptAES');
export const createHmac = cannotPreview('derivePassword');
export const scryptSync = cannotPreview('derivePassword');
export const createPrivateKey = cannotPreview('key and certificate generation');
export const createPublicKey = cannotPreview('key and certificate generation');
export const sign = cannotPreview('certificate generation');
export const generateKeyPairSync = cannotPreview('key generation');
export const isIP = cannotPreview('certificate generation');
export const X509Certificate = cannotPreview('certificate generation');
