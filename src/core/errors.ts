/** Every error the product raises on bad input carries a stable machine-readable code. */
export type ErrorCode =
  | 'LBDSR_BAD_MAC'
  | 'LBDSR_BAD_IPV4'
  | 'LBDSR_BAD_VIP'
  | 'LBDSR_BAD_ID'
  | 'LBDSR_BAD_VALUE'
  | 'LBDSR_BAD_BODY'
  | 'LBDSR_UNKNOWN_KEY'
  | 'LBDSR_NOT_FOUND'
  | 'LBDSR_EXISTS'
  | 'LBDSR_CONFLICT'
  | 'LBDSR_NO_SUCH_INTERFACE'
  | 'LBDSR_NOT_AVAILABLE'
  | 'LBDSR_TOO_MANY'
  | 'LBDSR_UNAUTHORIZED'
  | 'LBDSR_INTERNAL';

export class LbdsrError extends Error {
  readonly code: ErrorCode;
  /** `cause`: the error this one wraps (a kernel errno, a file system error), kept for logs and callers. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LbdsrError';
    this.code = code;
  }
}
