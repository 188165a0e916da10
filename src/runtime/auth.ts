// Who may read the operator's protected endpoints (/metrics, the detailed
// health API): the caller presents a Bearer token, the API server says who it
// is (TokenReview) and whether that user may `get` the non-resource path
// (SubjectAccessReview), as controller-runtime's metrics filter does. RBAC
// grants it with a ClusterRole rule `nonResourceURLs: ["/metrics"], verbs: [get]`.
//
// Decisions are cached briefly (by a hash of the token and the path, never
// the token itself) so a Prometheus scrape every few seconds does not cost two
// API requests each. A denial is cached for less time than a grant, so a new
// RoleBinding takes effect quickly. API errors are not cached.
import { createHash } from "node:crypto";
import { realClock, type Clock } from "./clock.ts";
import type { KindDescriptor, KubeClient, KubeObject } from "./kube.ts";

export type AuthDecision =
  { allowed: true; user: string } | { allowed: false; status: 401 | 403; message: string };

/** Decides whether an HTTP request may read a path. */
export interface RequestAuthorizer {
  authorize(authorization: string | undefined, path: string): Promise<AuthDecision>;
}

const tokenReviewKind: KindDescriptor = {
  group: "authentication.k8s.io",
  version: "v1",
  kind: "TokenReview",
  plural: "tokenreviews",
  namespaced: false,
};

const subjectAccessReviewKind: KindDescriptor = {
  group: "authorization.k8s.io",
  version: "v1",
  kind: "SubjectAccessReview",
  plural: "subjectaccessreviews",
  namespaced: false,
};

interface ReviewedUser {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

interface TokenReview extends KubeObject {
  spec: { token: string };
  status?: { authenticated?: boolean; user?: ReviewedUser; error?: string };
}

interface SubjectAccessReview extends KubeObject {
  spec: {
    user?: string;
    uid?: string;
    groups?: string[];
    extra?: Record<string, string[]>;
    nonResourceAttributes: { path: string; verb: string };
  };
  status?: { allowed?: boolean; denied?: boolean; reason?: string };
}

export interface KubeAuthorizerOptions {
  client: Pick<KubeClient, "create">;
  clock?: Clock;
  /** How long a grant is remembered. Default 60 s. */
  allowTtlMs?: number;
  /** How long a denial (401 or 403) is remembered. Default 10 s. */
  denyTtlMs?: number;
  /** Most decisions remembered; the oldest goes first. Default 1024. */
  maxEntries?: number;
}

interface CachedDecision {
  decision: AuthDecision;
  expiresAt: number;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
}

const unauthenticated = (message: string): AuthDecision => ({
  allowed: false,
  status: 401,
  message,
});

/** TokenReview + SubjectAccessReview against the API server, with a small bounded cache. */
export class KubeRequestAuthorizer implements RequestAuthorizer {
  private readonly client: Pick<KubeClient, "create">;
  private readonly clock: Clock;
  private readonly allowTtlMs: number;
  private readonly denyTtlMs: number;
  private readonly maxEntries: number;
  private readonly cache = new Map<string, CachedDecision>();

  constructor(opts: KubeAuthorizerOptions) {
    this.client = opts.client;
    this.clock = opts.clock ?? realClock;
    this.allowTtlMs = opts.allowTtlMs ?? 60_000;
    this.denyTtlMs = opts.denyTtlMs ?? 10_000;
    this.maxEntries = opts.maxEntries ?? 1024;
  }

  async authorize(authorization: string | undefined, path: string): Promise<AuthDecision> {
    const token = bearerToken(authorization);
    if (token === undefined) return unauthenticated("a Bearer token is required");
    const key = createHash("sha256").update(token).update("\n").update(path).digest("hex");
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > this.clock.now()) return cached.decision;
    const decision = await this.review(token, path);
    this.remember(key, decision);
    return decision;
  }

  /** Number of decisions currently remembered. */
  cacheSize(): number {
    return this.cache.size;
  }

  private remember(key: string, decision: AuthDecision): void {
    this.cache.delete(key);
    const ttl = decision.allowed ? this.allowTtlMs : this.denyTtlMs;
    this.cache.set(key, { decision, expiresAt: this.clock.now() + ttl });
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
  }

  private async review(token: string, path: string): Promise<AuthDecision> {
    const user = await this.authenticate(token);
    if (!user?.username) return unauthenticated("the token is not valid");
    const review = await this.client.create<SubjectAccessReview>(subjectAccessReviewKind, {
      metadata: {},
      spec: {
        user: user.username,
        uid: user.uid,
        groups: user.groups,
        extra: user.extra,
        nonResourceAttributes: { path, verb: "get" },
      },
    });
    if (review.status?.allowed === true) return { allowed: true, user: user.username };
    return {
      allowed: false,
      status: 403,
      message: `user "${user.username}" may not get path "${path}"`,
    };
  }

  private async authenticate(token: string): Promise<ReviewedUser | undefined> {
    const review = await this.client.create<TokenReview>(tokenReviewKind, {
      metadata: {},
      spec: { token },
    });
    return review.status?.authenticated === true ? review.status.user : undefined;
  }
}
