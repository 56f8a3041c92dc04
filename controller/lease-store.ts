/**
 * Where the leader-election Lease lives: a coordination.k8s.io/v1 Lease read and written through
 * the controller's KubeClient, every write conditional on the resourceVersion last read. The
 * elector (leader.ts) sees only the LeaseStore interface, so its tests use an in-memory store.
 */
import { apiPath, LEASES } from '../shared/api-path.ts';
import { isConflict, isNotFound, KubeApiError, type KubeClient } from './kube-client.ts';
import { rfc3339 } from './time.ts';

/** The leader-election fields of a Lease (client-go's LeaderElectionRecord) plus its resourceVersion. */
export interface LeaseRecord {
  /** '' when nobody holds the Lease (released). */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: Date | undefined;
  readonly renewTime: Date | undefined;
  readonly leaseTransitions: number;
  /** The version this record was read at; update() succeeds only if it is still current. '' for create(). */
  readonly resourceVersion: string;
}

/** Outcome of a conditional write: `conflict` when someone else wrote first (HTTP 409, or 404 on update). */
export type LeaseWrite = { readonly outcome: 'written'; readonly record: LeaseRecord } | { readonly outcome: 'conflict' };

/**
 * Where the Lease lives. Anything other than "not found" and a conflict is thrown. The signal
 * cancels the request (the elector aborts requests that outlive the renew deadline or stop()).
 */
export interface LeaseStore {
  /** For logs, e.g. "kube-system/sealed-secrets-controller". */
  readonly description: string;
  get(signal?: AbortSignal): Promise<LeaseRecord | undefined>;
  /** Creates the Lease; `conflict` if it already exists. */
  create(record: LeaseRecord, signal?: AbortSignal): Promise<LeaseWrite>;
  /** Replaces the Lease if its resourceVersion is still `record.resourceVersion`; `conflict` otherwise. */
  update(record: LeaseRecord, signal?: AbortSignal): Promise<LeaseWrite>;
}

/** A Lease request failed with something other than 404/409; `code` is the HTTP status (0: not reached). */
export class LeaseStoreError extends Error {
  readonly code: number;
  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LeaseStoreError';
    this.code = code;
  }
}

export interface LeaseLocation {
  readonly namespace: string;
  readonly name: string;
}

/** A Lease as the API server sends and takes it (the fields this module uses). */
interface LeaseObject {
  metadata?: { resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/**
 * A LeaseStore on the Kubernetes API, through the controller's KubeClient (so renewals reuse its
 * connection pool). Needs get, create and update on leases.
 */
export function createLeaseStore(client: KubeClient, { namespace, name }: LeaseLocation): LeaseStore {
  const description = `${namespace}/${name}`;
  const collection = apiPath(LEASES, { namespace });
  const path = apiPath(LEASES, { namespace, name });

  const fail = (operation: string, error: unknown): never => {
    if (error instanceof KubeApiError) {
      throw new LeaseStoreError(error.code, `${operation} lease ${description}: HTTP ${error.code}${error.message ? `: ${error.message}` : ''}`, { cause: error });
    }
    throw error;
  };
  const toLease = (record: LeaseRecord, resourceVersion: string | undefined) => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      ...(record.acquireTime ? { acquireTime: rfc3339(record.acquireTime, 'micro') } : {}),
      ...(record.renewTime ? { renewTime: rfc3339(record.renewTime, 'micro') } : {}),
      leaseTransitions: record.leaseTransitions,
    },
  });

  return {
    description,
    async get(signal) {
      try {
        return toRecord(await client.request<LeaseObject>('GET', path, { ...(signal ? { signal } : {}) }));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        return fail('get', error);
      }
    },
    async create(record, signal) {
      try {
        const created = await client.request<LeaseObject>('POST', collection, { body: toLease(record, undefined), ...(signal ? { signal } : {}) });
        return { outcome: 'written', record: toRecord(created) };
      } catch (error) {
        if (isConflict(error)) return { outcome: 'conflict' };
        return fail('create', error);
      }
    },
    async update(record, signal) {
      try {
        const replaced = await client.request<LeaseObject>('PUT', path, { body: toLease(record, record.resourceVersion), ...(signal ? { signal } : {}) });
        return { outcome: 'written', record: toRecord(replaced) };
      } catch (error) {
        // 409: someone wrote since we read. (A Lease deleted since we read is re-created by the
        // PUT, as Leases allow create-on-update; 404 is handled the same way for other servers.)
        if (isConflict(error) || isNotFound(error)) return { outcome: 'conflict' };
        return fail('update', error);
      }
    },
  };
}

function toDate(value: string | undefined): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function toRecord(lease: LeaseObject): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: toDate(spec.acquireTime),
    renewTime: toDate(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
    resourceVersion: lease.metadata?.resourceVersion ?? '',
  };
}
