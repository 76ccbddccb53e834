// jarvis/jarvis.h — umbrella header: everything a plugin needs.
#pragma once

#include "jarvis/commands.h"
#include "jarvis/config.h"
#include "jarvis/database.h"
#include "jarvis/error.h"
#include "jarvis/events.h"
#include "jarvis/host.h"
#include "jarvis/http.h"
#include "jarvis/http_client.h"
#include "jarvis/json.h"
#include "jarvis/metrics.h"
#include "jarvis/plugin.h"
#include "jarvis/principal.h"
#include "jarvis/subprocess.h"
#include "jarvis/tasks.h"
#include "jarvis/tools.h"
#include "jarvis/version.h"
