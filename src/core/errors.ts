// The product's error type: every error raised on bad input or a failed operation carries a stable
// machine-readable code (the table, with HTTP statuses, is in docs/api.md) and keeps the error it wraps.

/** Every code, at runtime: the REST status table and the documentation test enumerate it. */
export const ERROR_CODES = [
  'LBDSR_BAD_MAC',
  'LBDSR_BAD_IPV4',
  'LBDSR_BAD_IPV6',
  'LBDSR_BAD_VIP',
  'LBDSR_BAD_ID',
  'LBDSR_BAD_VALUE',
  'LBDSR_BAD_BODY',
  'LBDSR_UNKNOWN_KEY',
  'LBDSR_NOT_FOUND',
  'LBDSR_EXISTS',
  'LBDSR_CONFLICT',
  'LBDSR_NO_SUCH_INTERFACE',
  'LBDSR_NOT_AVAILABLE',
  'LBDSR_TOO_MANY',
  'LBDSR_NO_PROBE_IP',
  'LBDSR_UNAUTHORIZED',
  'LBDSR_FOREIGN_ORIGIN',
  'LBDSR_FOREIGN_HOST',
  'LBDSR_METHOD_NOT_ALLOWED',
  'LBDSR_TOO_LARGE',
  'LBDSR_UNSUPPORTED_MEDIA_TYPE',
  'LBDSR_NO_SPACE',
  'LBDSR_NO_MEMORY',
  'LBDSR_STATE_TOO_LARGE',
  'LBDSR_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class LbdsrError extends Error {
  readonly code: ErrorCode;
  /** `cause`: the error this one wraps (a kernel errno, a file system error), kept for logs and callers. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LbdsrError';
    this.code = code;
  }
}

/**
 * The message of `e` followed by the messages of its causes (those it does not already quote), for
 * people: logs, stderr, the body of a 500.
 */
export function describeError(e: unknown): string {
  let text = '';
  const seen = new Set<unknown>();
  for (let cur: unknown = e; cur !== undefined && cur !== null && !seen.has(cur); ) {
    seen.add(cur);
    const message = cur instanceof Error ? cur.message : String(cur);
    if (!text.includes(message)) text = text ? `${text}: ${message}` : message;
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return text;
}
