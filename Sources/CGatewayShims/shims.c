// Intentionally almost empty: every shim is a static inline function in CGatewayShims.h.
// SwiftPM needs at least one source file in a C target.
#include "CGatewayShims.h"
