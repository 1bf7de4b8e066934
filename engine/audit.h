/*
 * audit.h - the tamper-evident audit trail (internal, floor 4): verifying
 * the events' hash chain (events.c writes it), signed checkpoints and the
 * audit log (hv_audit_verify, hv_audit_checkpoint, hv_audit_log in haven.h).
 */
#ifndef HV_AUDIT_H
#define HV_AUDIT_H

#include "haven.h"

/* Makes the audit signing key (Ed25519) beside the database,
 * "<path>.audit-key" (0600), unless it is there already.  HV_CANTCREATE or
 * HV_IOERR (message on e) when it cannot be written. */
hv_status hv__audit_make_key(hv_engine *e);

#endif
