// The module-level functions the addon exports beside the Model class (registered in addon.cc).
#pragma once

#include <napi.h>

namespace wp {

// system.cc
Napi::Value SystemInfo(const Napi::CallbackInfo& info);
Napi::Value BuildInfo(const Napi::CallbackInfo& info);
Napi::Value Version(const Napi::CallbackInfo& info);
Napi::Value MicroBench(const Napi::CallbackInfo& info);
Napi::Value Stats(const Napi::CallbackInfo& info);
Napi::Value Shutdown(const Napi::CallbackInfo& info);

// quantize.cc
Napi::Value Quantize(const Napi::CallbackInfo& info);
Napi::Value TypeInfo(const Napi::CallbackInfo& info);

}  // namespace wp
