/*
 * audit.h - the tamper-evident audit trail (internal, floor 4): verifying
 * the events' keyed hash chain (events.c writes it; chainverify.c walks
 * it), signed checkpoints (checkpoint.c) and the audit log
 * (hv_audit_verify, hv_audit_verify_deep, hv_audit_checkpoint,
 * hv_audit_log in haven.h).  It shares no internal function.
 */
#ifndef HV_AUDIT_H
#define HV_AUDIT_H

#include "haven.h"

#endif
