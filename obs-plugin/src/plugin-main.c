/* dhsdk OBS plugin: registers the "dhsdk Digital Human" source (src/dhsdk-source.c). */
#include <obs-module.h>

#include "dhsdk-ring.h"

OBS_DECLARE_MODULE()
OBS_MODULE_AUTHOR("dhsdk developers")

extern struct obs_source_info dhsdk_source_info;

const char *obs_module_description(void)
{
	return "dhsdk Digital Human: a lip-synced presenter from the dhsdk SDK (shared-memory ring)";
}

bool obs_module_load(void)
{
	obs_register_source(&dhsdk_source_info);
	blog(LOG_INFO, "[dhsdk] plugin loaded (ring protocol v%u)", DHSDK_RING_VERSION);
	return true;
}
