/*
 * outbox.h - a laptop copy's side of offline work (internal, floor 6):
 * building the copy from a checkout, the outbox of the engine calls made
 * offline, and the requests and acknowledgements of a sync.  The public
 * calls are in haven.h ("Offline work").
 */
#ifndef HV_OUTBOX_H
#define HV_OUTBOX_H

#include "core.h"

#endif
