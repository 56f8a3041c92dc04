/**
 * Names the API server accepts, for validating input before it is sealed (the browser page checks
 * as the user types). Rules from k8s.io/apimachinery's validation: a Secret's name is a DNS-1123
 * subdomain, a namespace a DNS-1123 label. Messages name the rule and the fix, not the input.
 */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a Secret (or SealedSecret) name would be refused, or undefined. */
export function objectNameProblem(name: string): string | undefined {
  if (name === '') return 'is required';
  if (name.length > 253) return 'must be at most 253 characters';
  if (!DNS1123_SUBDOMAIN.test(name)) return "must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit";
  return undefined;
}

/** Why a namespace name would be refused, or undefined. */
export function namespaceProblem(namespace: string): string | undefined {
  if (namespace === '') return 'is required';
  if (namespace.length > 63) return 'must be at most 63 characters';
  if (!DNS1123_LABEL.test(namespace)) return "must be lower-case letters, digits and '-', starting and ending with a letter or digit";
  return undefined;
}
