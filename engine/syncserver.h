/*
 * syncserver.h - the agency server's side of offline work (internal,
 * floor 6): devices, the replay of a laptop's changes through the engine,
 * and the conflict queue.  The public calls are in haven.h ("Offline
 * work").
 */
#ifndef HV_SYNCSERVER_H
#define HV_SYNCSERVER_H

#include "core.h"

#endif
