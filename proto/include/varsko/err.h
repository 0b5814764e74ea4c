/*
 * varsko/err.h: the one error enumeration of Varsko.
 *
 * Every function in proto/, gateway/ and clients/ that can fail returns one of
 * these codes: VARSKO_OK (0) or a negative VARSKO_ERR_*. The same codes travel
 * on the wire: an error frame carries the stable name (second column), never
 * the number. Names and numbers never change once released; new codes are
 * appended.
 */
#ifndef VARSKO_ERR_H
#define VARSKO_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * VARSKO_WUR marks a function whose result must not be ignored: every
 * fallible function of proto/ and every exported varsko_* one.
 */
#if defined(__GNUC__)
#define VARSKO_WUR __attribute__((warn_unused_result))
#else
#define VARSKO_WUR
#endif

/* X(ENUM_SUFFIX, number, "wire name", "English text") */
#define VARSKO_ERRORS(X)                                                                     \
	X(OK, 0, "ok", "success")                                                                \
	X(ERR_INTERNAL, -1, "internal", "internal error")                                        \
	X(ERR_NOMEM, -2, "nomem", "out of memory")                                               \
	X(ERR_BAD_JSON, -3, "bad_json", "frame is not a well-formed JSON object")                \
	X(ERR_BAD_FRAME, -4, "bad_frame", "a field is missing, unexpected or of the wrong type") \
	X(ERR_UNKNOWN_TYPE, -5, "unknown_type", "unknown frame type")                            \
	X(ERR_TOO_LARGE, -6, "too_large", "input exceeds its size limit")                        \
	X(ERR_DUPLICATE_KEY, -7, "duplicate_key", "JSON object has a duplicate key")             \
	X(ERR_BAD_SIGNATURE, -8, "bad_signature", "signature does not verify")                   \
	X(ERR_BAD_CERT, -9, "bad_cert", "certificate does not verify against the organisation key") \
	X(ERR_NOT_AUTHENTICATED, -10, "not_authenticated", "log in first")                       \
	X(ERR_AUTH_FAILED, -11, "auth_failed", "login refused")                                  \
	X(ERR_UNKNOWN_DEVICE, -12, "unknown_device", "device is not enrolled")                   \
	X(ERR_DEVICE_REVOKED, -13, "device_revoked", "device has been revoked")                  \
	X(ERR_DEVICE_EXPIRED, -14, "device_expired", "device certificate is expired or not yet valid") \
	X(ERR_CODE_UNKNOWN, -15, "code_unknown", "enrollment code is not valid")                 \
	X(ERR_CODE_EXPIRED, -16, "code_expired", "enrollment code has expired")                  \
	X(ERR_CODE_USED, -17, "code_used", "enrollment code has already been used")              \
	X(ERR_BAD_TIME, -18, "bad_time", "time is malformed or too far from the server clock")   \
	X(ERR_PROTOCOL, -19, "protocol", "frame not allowed in this state")                      \
	X(ERR_RATE_LIMITED, -20, "rate_limited", "too many requests, retry later")               \
	X(ERR_UNAVAILABLE, -21, "unavailable", "temporarily unavailable, retry later")           \
	X(ERR_NOT_FOUND, -22, "not_found", "no such object")                                     \
	X(ERR_EXISTS, -23, "exists", "object already exists")                                    \
	X(ERR_FORBIDDEN, -24, "forbidden", "not allowed for this user")                          \
	X(ERR_IO, -25, "io", "input/output error")                                               \
	X(ERR_DB, -26, "db", "database error")                                                   \
	X(ERR_CONFIG, -27, "config", "configuration error")                                      \
	X(ERR_USAGE, -28, "usage", "wrong command-line usage")                                   \
	X(ERR_TLS, -29, "tls", "TLS error")                                                      \
	X(ERR_CONNECT, -30, "connect", "cannot connect to the server")                           \
	X(ERR_TIMEOUT, -31, "timeout", "timed out")                                              \
	X(ERR_CRYPTO, -32, "crypto", "cryptographic operation failed")                           \
	X(ERR_CLOSED, -33, "closed", "connection closed")                                        \
	X(ERR_BAD_INPUT, -34, "bad_input", "input is not valid")                                 \
	X(ERR_CASE_STATE, -35, "case_state", "the underretning's state does not allow this event")   \
	X(ERR_DEVICE_PENDING, -36, "device_pending", "device enrollment is not confirmed yet")       \
	X(ERR_BAD_CHAIN, -37, "bad_chain", "a chain link does not verify, does not follow, or forks") \
	X(ERR_NOT_MEMBER, -38, "not_member", "signer or recipient is not a member by the chain")     \
	X(ERR_NOT_CROSS_SIGNED, -39, "not_cross_signed", "device is not signed by its user's key")   \
	X(ERR_STALE_KEY, -40, "stale_key", "a newer key generation exists")                          \
	X(ERR_RECOVERY_LOCKED, -41, "recovery_locked", "recovery is locked after too many wrong codes") \
	X(ERR_APPROVAL_FAILED, -42, "approval_failed", "the approval codes do not match")              \
	X(ERR_PURGED, -43, "purged", "the content was purged after its retention period")

enum varsko_err {
#define VARSKO_ERR_ENUM_(name, num, wire, text) VARSKO_##name = num,
	VARSKO_ERRORS(VARSKO_ERR_ENUM_)
#undef VARSKO_ERR_ENUM_
};

/* Stable wire name of `err` ("bad_json"); "internal" for an unknown number. Never NULL. */
const char *varsko_err_name(int err);

/* One-line English text for `err`; never NULL. */
const char *varsko_err_text(int err);

/* Inverse of varsko_err_name(): the code for a wire name, or VARSKO_ERR_INTERNAL. */
int varsko_err_from_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif
